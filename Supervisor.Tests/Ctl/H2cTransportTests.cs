using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using NUnit.Framework;
using Supervisor.Ctl.Connection;

namespace Supervisor.Tests.Ctl;

/// <summary>
/// supctl's gRPC-over-h2c transport (linked from Supervisor.Ctl) against a scripted HTTP/2 server on a real Unix
/// socket: the frames the client writes, and how it reads split, padded, interleaved and erroneous responses. The
/// integration suite covers the same client against the real supd.
/// </summary>
[TestFixture]
public sealed class H2cTransportTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);
    private static readonly Method<byte[], byte[]> Unary = new(MethodType.Unary, "test.Service", "Echo", Bytes, Bytes);
    private static readonly Method<byte[], byte[]> Streaming = new(MethodType.ServerStreaming, "test.Service", "Follow", Bytes, Bytes);

    private const byte Data = 0, Headers = 1, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9;
    private const byte EndStream = 1, Ack = 1, EndHeaders = 4, Padded = 8, Priority = 0x20;

    [Test]
    public async Task A_unary_call_writes_the_preface_settings_and_request_and_reads_split_padded_frames()
    {
        using var server = new ScriptedServer(async side =>
        {
            var request = side.ReadRequest();
            side.Send(Frame(Settings, 0, 0, Setting(5, 16384)));
            side.Send(Frame(Ping, 0, 0, "pingpong"u8.ToArray()));
            // Response headers: padded, with priority fields, split into HEADERS + CONTINUATION.
            var block = Block(0x20, 0x88).Concat(Literal("content-type", "application/grpc")).ToArray();
            side.Send(Frame(Headers, Padded | Priority, 1, [3, 0, 0, 0, 0, 16, .. block[..2], 0, 0, 0]));
            side.Send(Frame(Continuation, EndHeaders, 1, block[2..]));
            // One message over two DATA frames, the first padded.
            var message = GrpcMessage("hello world"u8.ToArray());
            side.Send(Frame(Data, Padded, 1, [2, .. message[..7], 0, 0]));
            side.Send(Frame(Data, 0, 1, message[7..]));
            side.Send(Frame(Headers, EndHeaders | EndStream, 1, [.. Literal("grpc-status", "0"), .. Literal("x-trace-bin", "AQI")]));
            var replies = side.ReadUntilClosed();
            await Task.CompletedTask;
            return ((Request?)request, replies);
        });

        var call = new H2cCallInvoker(server.Path).AsyncUnaryCall(Unary, null, new CallOptions(), "ping"u8.ToArray());
        Assert.That(Encoding.ASCII.GetString(await call.ResponseAsync), Is.EqualTo("hello world"));
        Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        Assert.That(call.GetTrailers().GetValueBytes("x-trace-bin"), Is.EqualTo(new byte[] { 1, 2 }), "-bin trailers are base64, padding optional");

        var (sent, replies) = await server.Result;
        var req = sent!;
        Assert.That(req.Settings, Is.EqualTo(new[] { (1, 0u), (2, 0u), (4, 4u << 20) }), "no header table, no push, a large window");
        Assert.That(req.ConnectionWindowIncrement, Is.EqualTo((4 << 20) - 65535));
        Assert.That(req.Headers, Is.EqualTo(new KeyValuePair<string, string>[]
        {
            new(":method", "POST"), new(":scheme", "http"), new(":path", "/test.Service/Echo"), new(":authority", "localhost"),
            new("content-type", "application/grpc"), new("te", "trailers"), new("user-agent", "supctl"),
        }));
        Assert.That(req.Body, Is.EqualTo(GrpcMessage("ping"u8.ToArray())));
        Assert.That(replies.Where(f => f.Type == Settings).Select(f => f.Flags), Is.EqualTo(new[] { Ack }), "the server's SETTINGS acknowledged");
        Assert.That(replies.Single(f => f.Type == Ping), Has.Property("Flags").EqualTo(Ack).And.Property("Payload").EqualTo("pingpong"u8.ToArray()));
    }

    [Test]
    public void A_trailers_only_error_becomes_an_RpcException_with_the_percent_decoded_message()
    {
        using var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders | EndStream, 1,
                [0x88, .. Literal("content-type", "application/grpc"), .. Literal("grpc-status", "5"), .. Literal("grpc-message", "Job failed: a%0A  b%25 %C3%A9")]));
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        });

        var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(server.Path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
        Assert.That(e.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(e.Status.Detail, Is.EqualTo("Job failed: a\n  b% é"));
        Assert.That(e.Trailers.GetValue("grpc-status"), Is.EqualTo("5"));
    }

    [Test]
    public void An_HTTP_error_status_and_a_missing_grpc_status_are_reported_as_GrpcNetClient_does()
    {
        using (var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders | EndStream, 1, [0x8d])); // :status 404
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        }))
        {
            var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(server.Path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
            Assert.That((e.StatusCode, e.Status.Detail), Is.EqualTo((StatusCode.Unimplemented, "Bad gRPC response. HTTP status code: 404")));
        }
        using (var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders, 1, [0x88, .. Literal("content-type", "application/grpc")]));
            side.Send(Frame(Data, EndStream, 1, GrpcMessage([7])));
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        }))
        {
            var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(server.Path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
            Assert.That((e.StatusCode, e.Status.Detail), Is.EqualTo((StatusCode.Cancelled, "No grpc-status found on response.")));
        }
    }

    [Test]
    public async Task A_long_server_stream_is_read_whole_and_the_windows_are_replenished()
    {
        const int count = 300, size = 16000; // 4.8 MB: more than the 4 MB window we grant, so updates are required
        using var server = new ScriptedServer(async side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders, 1, [0x88, .. Literal("content-type", "application/grpc")]));
            var granted = 4L << 20;
            var sent = 0L;
            var replies = new List<RawFrame>();
            for (var i = 0; i < count; i++)
            {
                var payload = GrpcMessage(Enumerable.Repeat((byte)i, size).ToArray());
                // Honour the client's window, as a real server must: wait for its WINDOW_UPDATE when spent.
                while (sent + payload.Length > granted)
                {
                    var frame = side.ReadFrame();
                    replies.Add(frame);
                    if (frame.Type == WindowUpdate && frame.Stream == 1) granted += BinaryPrimitives.ReadUInt32BigEndian(frame.Payload);
                }
                side.Send(Frame(Data, 0, 1, payload));
                sent += payload.Length;
            }
            side.Send(Frame(Headers, EndHeaders | EndStream, 1, Literal("grpc-status", "0")));
            replies.AddRange(side.ReadUntilClosed());
            await Task.CompletedTask;
            return ((Request?)null, replies);
        });

        using var call = new H2cCallInvoker(server.Path).AsyncServerStreamingCall(Streaming, null, new CallOptions(), []);
        var received = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            Assert.That(call.ResponseStream.Current, Has.Length.EqualTo(size).And.All.EqualTo((byte)received));
            received++;
        }
        Assert.That(received, Is.EqualTo(count));
        Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        var (_, replies) = await server.Result;
        Assert.That(replies.Any(f => f.Type == WindowUpdate && f.Stream == 0), Is.True, "connection window replenished");
        Assert.That(replies.Any(f => f.Type == WindowUpdate && f.Stream == 1), Is.True, "stream window replenished");
    }

    [Test]
    public async Task Cancelling_a_waiting_stream_ends_it_at_once_and_closes_the_connection()
    {
        using var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders, 1, [0x88, .. Literal("content-type", "application/grpc")]));
            side.Send(Frame(Data, 0, 1, GrpcMessage([42])));
            // Then nothing, as `supctl log -f` on a quiet job: only the client's closing ends this.
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        });

        using var cancel = new CancellationTokenSource();
        using var call = new H2cCallInvoker(server.Path).AsyncServerStreamingCall(Streaming, null, new CallOptions(cancellationToken: cancel.Token), []);
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True);
        var waiting = call.ResponseStream.MoveNext(CancellationToken.None);
        Assert.That(waiting.IsCompleted, Is.False, "nothing more to read yet");
        await cancel.CancelAsync();
        var e = Assert.ThrowsAsync<RpcException>(async () => await waiting.WaitAsync(TimeSpan.FromSeconds(30)))!;
        Assert.That((e.StatusCode, e.Status.Detail), Is.EqualTo((StatusCode.Cancelled, "Call canceled by the client.")));
        await server.Result.WaitAsync(TimeSpan.FromSeconds(30)); // the server saw the connection close
    }

    [Test]
    public void A_stream_reset_and_a_refusing_GOAWAY_map_to_gRPC_statuses()
    {
        using (var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(Headers, EndHeaders, 1, [0x88, .. Literal("content-type", "application/grpc")]));
            side.Send(Frame(RstStream, 0, 1, [0, 0, 0, 0xB]));
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        }))
        {
            var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(server.Path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
            Assert.That(e.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
            Assert.That(e.Status.Detail, Does.Contain("ENHANCE_YOUR_CALM"));
        }
        using (var server = new ScriptedServer(side =>
        {
            side.ReadRequest();
            side.Send(Frame(GoAway, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0, .. "shutting down"u8]));
            return Task.FromResult(((Request?)null, side.ReadUntilClosed()));
        }))
        {
            var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(server.Path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
            Assert.That(e.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(e.Status.Detail, Does.Contain("GOAWAY, NO_ERROR: shutting down"));
        }
    }

    [Test]
    public void A_missing_socket_is_a_connect_failure_with_supctls_message()
    {
        var path = Path.Combine(Path.GetTempPath(), $"h2c-none-{Guid.NewGuid():N}.sock");
        var e = Assert.Throws<RpcException>(() => new H2cCallInvoker(path).BlockingUnaryCall(Unary, null, new CallOptions(), []))!;
        Assert.That(e.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(SupdConnection.AsConnectFailure(e)?.Message, Is.EqualTo($"cannot connect to supd at {path}: No such file or directory (is supd running?)"));
    }

    // --- a scripted server ---

    private sealed record RawFrame(byte Type, byte Flags, int Stream, byte[] Payload);

    private sealed record Request((int, uint)[] Settings, long ConnectionWindowIncrement, List<KeyValuePair<string, string>> Headers, byte[] Body);

    private sealed class ScriptedServer : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

        public ScriptedServer(Func<ServerSide, Task<(Request?, List<RawFrame>)>> script)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"h2c-{Guid.NewGuid():N}.sock");
            _listener.Bind(new UnixDomainSocketEndPoint(Path));
            _listener.Listen(1);
            Result = Task.Run(async () =>
            {
                using var connection = await _listener.AcceptAsync();
                return await script(new ServerSide(connection));
            });
        }

        public string Path { get; }
        public Task<(Request? Request, List<RawFrame> Replies)> Result { get; }

        public void Dispose()
        {
            _listener.Dispose();
            File.Delete(Path);
        }
    }

    private sealed class ServerSide(Socket socket)
    {
        public void Send(byte[] bytes) => socket.Send(bytes);

        public RawFrame ReadFrame()
        {
            var header = ReadExactly(9);
            var length = header[0] << 16 | header[1] << 8 | header[2];
            return new RawFrame(header[3], header[4], (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF), ReadExactly(length));
        }

        /// <summary>The preface, then frames up to the request's END_STREAM.</summary>
        public Request ReadRequest()
        {
            Assert.That(Encoding.ASCII.GetString(ReadExactly(24)), Is.EqualTo("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
            var settings = ReadFrame();
            Assert.That((settings.Type, settings.Stream), Is.EqualTo((Settings, 0)), "SETTINGS first");
            var parsed = Enumerable.Range(0, settings.Payload.Length / 6)
                .Select(i => ((int)BinaryPrimitives.ReadUInt16BigEndian(settings.Payload.AsSpan(i * 6)), BinaryPrimitives.ReadUInt32BigEndian(settings.Payload.AsSpan(i * 6 + 2))))
                .ToArray();
            long increment = 0;
            var decoder = new HPackDecoder();
            var headers = new List<KeyValuePair<string, string>>();
            var body = new List<byte>();
            while (true)
            {
                var frame = ReadFrame();
                if (frame.Type == WindowUpdate && frame.Stream == 0) increment += BinaryPrimitives.ReadUInt32BigEndian(frame.Payload);
                if (frame.Type == Headers) decoder.Decode(frame.Payload, headers);
                if (frame.Type == Data) body.AddRange(frame.Payload);
                if (frame.Stream == 1 && (frame.Flags & EndStream) != 0) break;
            }
            return new Request(parsed, increment, headers, [.. body]);
        }

        /// <summary>Every frame the client writes until it closes the connection.</summary>
        public List<RawFrame> ReadUntilClosed()
        {
            var frames = new List<RawFrame>();
            try
            {
                while (true) frames.Add(ReadFrame());
            }
            catch (EndOfStreamException)
            {
            }
            catch (SocketException)
            {
            }
            return frames;
        }

        private byte[] ReadExactly(int length)
        {
            var buffer = new byte[length];
            for (var read = 0; read < length;)
            {
                var n = socket.Receive(buffer, read, length - read, SocketFlags.None);
                if (n == 0) throw new EndOfStreamException();
                read += n;
            }
            return buffer;
        }
    }

    private static byte[] Frame(byte type, int flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = (byte)flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private static byte[] Setting(ushort id, uint value)
    {
        var bytes = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, id);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), value);
        return bytes;
    }

    private static byte[] Block(params byte[] bytes) => bytes;

    private static byte[] Literal(string name, string value)
    {
        var block = new List<byte>();
        HPackEncoder.WriteLiteral(block, name, value);
        return [.. block];
    }

    private static byte[] GrpcMessage(byte[] message)
    {
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        return framed;
    }
}
