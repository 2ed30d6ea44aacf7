extern alias ctl;

using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using NUnit.Framework;
using ctl::Supervisor.Ctl.Transport;
using ctl::Supervisor.Protocol;
using SupervisorClient = ctl::Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Tests.Ctl;

/// <summary>
/// supctl's HTTP/2 transport: HPACK against RFC 7541's own examples, and whole calls against a scripted server on a
/// real Unix socket for what supd's Kestrel does not send on purpose (odd framing, errors, bounds, flow control).
/// </summary>
[TestFixture]
public sealed class TransportTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Test]
    public void The_decoder_reads_RFC_7541s_requests_with_Huffman_strings_and_its_dynamic_table()
    {
        var decoder = new HpackDecoder();
        var fields = new List<(string, string)>();
        decoder.Decode(Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), fields, 64 * 1024); // C.4.1
        Assert.That(fields, Is.EqualTo(new[] { (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com") }));
        fields.Clear();
        decoder.Decode(Hex("8286 84be 5886 a8eb 1064 9cbf"), fields, 64 * 1024); // C.4.2: index 62 is the entry C.4.1 added
        Assert.That(fields, Is.EqualTo(new[] { (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache") }));
        fields.Clear();
        decoder.Decode(Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"), fields, 64 * 1024); // C.4.3
        Assert.That(fields, Is.EqualTo(new[] { (":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value") }));
    }

    [Test]
    public void Every_Huffman_code_is_Appendix_Bs_and_decodes_back_to_its_symbol()
    {
        // Spot checks against the RFC's table: the rest follows, the code being canonical.
        Assert.That(HpackHuffman.CodeOf('0'), Is.EqualTo((0x0, 5)));
        Assert.That(HpackHuffman.CodeOf(' '), Is.EqualTo((0x14, 6)));
        Assert.That(HpackHuffman.CodeOf(0), Is.EqualTo((0x1ff8, 13)));
        Assert.That(HpackHuffman.CodeOf(255), Is.EqualTo((0x3ffffee, 26)));
        Assert.That(HpackHuffman.CodeOf(256), Is.EqualTo((0x3fffffff, 30)));
        for (var symbol = 0; symbol < 256; symbol++)
            Assert.That(HpackHuffman.Decode(Huffman(((char)symbol).ToString()), 16), Is.EqualTo(((char)symbol).ToString()), $"symbol {symbol}");
    }

    [TestCase("ffff ffff", "EOS")]           // EOS itself
    [TestCase("f1e3 c2e5 f23a 6ba0 ab90 f4fe", "padding")] // a padding bit that is not 1
    [TestCase("07ff", "padding")]          // "0", then 11 bits of padding
    public void A_bad_Huffman_string_is_refused(string hex, string what)
    {
        var e = Assert.Throws<Http2ProtocolException>(() => HpackHuffman.Decode(Hex(hex), 100));
        Assert.That(e!.Message, Does.Contain(what));
    }

    [TestCase("3fe2 1f", "dynamic table of")]       // a size update to 4097, above what supctl advertises
    [TestCase("82 3f00", "after a header field")]   // a size update after a field
    [TestCase("ff ffff ffff 0f", "over 2^24")]      // an integer that does not end in bounds
    [TestCase("0f 10 7f 80 80 80 80 08", "over 2^24")] // a string length whose fifth continuation byte would wrap an int negative
    [TestCase("3f 80 80 80 80 08", "over 2^24")]    // the same in a table size update
    [TestCase("7f 80 80 80 80 80 80 00", "over 2^24")] // zeros that go on past four continuation bytes
    [TestCase("be", "not in the table")]           // index 62 with an empty dynamic table
    [TestCase("80", "not in the table")]           // index 0
    [TestCase("0f 10 7f 00", "runs past")]          // a string longer than the block
    public void A_bad_header_block_is_refused(string hex, string what)
    {
        var e = Assert.Throws<Http2ProtocolException>(() => new HpackDecoder().Decode(Hex(hex), [], 64 * 1024));
        Assert.That(e!.Message, Does.Contain(what));
    }

    [Test]
    public void The_header_list_and_the_dynamic_table_stay_within_their_bounds()
    {
        var big = new List<byte> { 0x40 }; // literal with incremental indexing, new name
        Str(big, "x-big");
        Str(big, new string('v', 3000));
        var decoder = new HpackDecoder();
        Assert.Throws<Http2ProtocolException>(() => decoder.Decode(big.ToArray(), [], 1024), "the list bound");

        // Two 3 KB entries do not fit in 4 KB: the second evicts the first.
        var second = new List<byte> { 0x40 };
        Str(second, "x-second");
        Str(second, new string('w', 3000));
        decoder = new HpackDecoder();
        decoder.Decode(big.ToArray(), [], 64 * 1024);
        decoder.Decode(second.ToArray(), [], 64 * 1024);
        var fields = new List<(string, string)>();
        decoder.Decode([0xbe], fields, 64 * 1024);
        Assert.That(fields[0].Item1, Is.EqualTo("x-second"));
        Assert.Throws<Http2ProtocolException>(() => decoder.Decode([0xbf], [], 64 * 1024), "the first was evicted");
    }

    [Test]
    public async Task A_reply_in_one_byte_frames_with_Huffman_headers_is_read_whole()
    {
        var reply = new StatusReply { Status = new JobStatus { Job = "web", Instance = "" } }.ToByteArray();
        await using var server = ScriptedServer.Start(out var path, (s, _) =>
        {
            var headers = new List<byte> { 0x88, 0x0f, 0x10 };
            var type = Huffman("application/grpc");
            HpackEncoder.WriteInteger(headers, 0x80, 7, type.Length);
            headers.AddRange(type);
            s.Headers(headers, endStream: false);
            foreach (var b in Message(reply)) s.Data([b], endStream: false);
            s.Headers(Trailers(0, null), endStream: true);
        });
        var answer = await new SupervisorClient(new SupdCallInvoker(path)).StatusAsync(new StatusRequest { Job = "web" });
        Assert.That(answer.Status.Job, Is.EqualTo("web"));
    }

    // A reply whose every field has its default value is a message of no bytes: its 5-byte prefix alone, in one DATA
    // frame or a byte a frame.
    [TestCase(false)]
    [TestCase(true)]
    public async Task An_empty_reply_message_is_a_message(bool inOneFrame)
    {
        await using var server = ScriptedServer.Start(out var path, (s, _) =>
        {
            var headers = new List<byte> { 0x88, 0x0f, 0x10 };
            Str(headers, "application/grpc");
            s.Headers(headers, endStream: false);
            if (inOneFrame) s.Data(Message([]), endStream: false);
            else foreach (var b in Message([])) s.Data([b], endStream: false);
            s.Headers(Trailers(0, null), endStream: true);
        });
        var answer = await new SupervisorClient(new SupdCallInvoker(path)).StatusAsync(new StatusRequest { Job = "web" });
        Assert.That(answer, Is.EqualTo(new StatusReply()));
    }

    [Test]
    public void A_refusal_in_trailers_only_carries_its_code_and_its_decoded_message()
    {
        using var server = ScriptedServer.Start(out var path, (s, _) =>
        {
            var block = new List<byte> { 0x88 };
            block.AddRange(Trailers(7, "no%20right%20to%20stop%20%E2%9C%93"));
            s.Headers(block, endStream: true);
        });
        var e = Assert.ThrowsAsync<RpcException>(async () => await new SupervisorClient(new SupdCallInvoker(path)).StatusAsync(new StatusRequest { Job = "web" }));
        Assert.That((e!.StatusCode, e.Status.Detail), Is.EqualTo((StatusCode.PermissionDenied, "no right to stop \u2713")));
    }

    [TestCase("frame", StatusCode.Internal, "a frame of 16385 bytes")]
    [TestCase("message", StatusCode.ResourceExhausted, "over supctl's bound")]
    [TestCase("close", StatusCode.Unavailable, "closed the connection")]
    [TestCase("no-trailers", StatusCode.Internal, "without trailers")]
    public void What_supd_may_not_send_fails_the_call_with_a_clear_status(string what, StatusCode code, string message)
    {
        using var server = ScriptedServer.Start(out var path, (s, _) =>
        {
            s.Headers(OkHeaders(), endStream: false);
            switch (what)
            {
                case "frame": s.Raw([0x00, 0x40, 0x01, 0x00, 0x00, 0, 0, 0, 1]); break; // DATA of 16 385 bytes
                case "message": s.Data([0, 0, 0x50, 0, 0], endStream: false); break;      // a 5 MiB message
                case "close": s.Data([0, 0, 0, 0, 9, 1], endStream: false); s.Close(); break; // the connection ends inside a message
                case "no-trailers": s.Data(Message([]), endStream: true); break;
            }
        });
        var e = Assert.ThrowsAsync<RpcException>(async () => await new SupervisorClient(new SupdCallInvoker(path)).StatusAsync(new StatusRequest { Job = "web" }));
        Assert.That(e!.StatusCode, Is.EqualTo(code), e.Status.Detail);
        Assert.That(e.Status.Detail, Does.Contain(message));
    }

    [Test]
    public async Task A_stream_longer_than_the_receive_window_goes_on_as_supctl_grants_more()
    {
        // 3 MiB in 1 KiB log pieces; the server keeps to the windows supctl grants, as Kestrel does.
        const int pieces = 3 * 1024;
        await using var server = ScriptedServer.Start(out var path, (s, client) =>
        {
            s.Headers(OkHeaders(), endStream: false);
            for (var i = 0; i < pieces; i++)
            {
                var message = Message(new TailLogReply { Data = Google.Protobuf.ByteString.CopyFrom(new byte[1024]) }.ToByteArray());
                client.WaitForWindow(message.Length);
                s.Data(message, endStream: false);
            }
            s.Headers(Trailers(0, null), endStream: true);
        });
        using var call = new SupervisorClient(new SupdCallInvoker(path)).TailLog(new TailLogRequest { Job = "web" });
        long bytes = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) bytes += call.ResponseStream.Current.Data.Length;
        Assert.That(bytes, Is.EqualTo(pieces * 1024L));
        Assert.That(server.WindowUpdates, Is.GreaterThanOrEqualTo(4), "supctl topped the window up as it read");
    }

    [Test]
    public void A_cancelled_stream_ends_at_once_with_CANCELLED()
    {
        using var server = ScriptedServer.Start(out var path, (s, _) => s.Headers(OkHeaders(), endStream: false)); // then silence
        using var cts = new CancellationTokenSource();
        using var call = new SupervisorClient(new SupdCallInvoker(path)).TailLog(new TailLogRequest { Job = "web", Follow = true });
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));
        var e = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(cts.Token));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Cancelled));
    }

    private static byte[] Huffman(string text)
    {
        ulong bits = 0;
        var count = 0;
        var output = new List<byte>();
        foreach (var c in text)
        {
            var (code, length) = HpackHuffman.CodeOf(c);
            bits = (bits << length) | (uint)code;
            count += length;
            while (count >= 8)
            {
                output.Add((byte)(bits >> (count - 8)));
                count -= 8;
            }
        }
        if (count > 0) output.Add((byte)((bits << (8 - count)) | ((1u << (8 - count)) - 1)));
        return output.ToArray();
    }

    private static void Str(List<byte> block, string value)
    {
        HpackEncoder.WriteInteger(block, 0, 7, value.Length);
        block.AddRange(Encoding.ASCII.GetBytes(value));
    }

    private static List<byte> OkHeaders()
    {
        var block = new List<byte> { 0x88, 0x0f, 0x10 };
        Str(block, "application/grpc");
        return block;
    }

    private static List<byte> Trailers(int status, string? message)
    {
        var block = new List<byte> { 0x00 };
        Str(block, "grpc-status");
        Str(block, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message is null) return block;
        block.Add(0x00);
        Str(block, "grpc-message");
        Str(block, message);
        return block;
    }

    private static byte[] Message(byte[] payload)
    {
        var framed = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    /// <summary>An h2c server on a Unix socket that plays a script to its first connection and reads what supctl sends.</summary>
    private sealed class ScriptedServer : IDisposable, IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly string _dir;
        private readonly Task _run;
        private Socket? _connection;
        private readonly object _gate = new();
        private long _connectionWindow = 65_535, _streamWindow = 65_535;

        public int WindowUpdates { get; private set; }

        private ScriptedServer(string dir, Socket listener, Action<ScriptedServer, ScriptedServer> script)
        {
            _dir = dir;
            _listener = listener;
            _run = Task.Run(() =>
            {
                _connection = _listener.Accept();
                var reader = Task.Run(ReadClient);
                script(this, this);
                // Hold the connection until the client is done with it.
                reader.Wait(TimeSpan.FromSeconds(30));
            });
        }

        public static ScriptedServer Start(out string path, Action<ScriptedServer, ScriptedServer> script)
        {
            var dir = Directory.CreateTempSubdirectory("supctl-transport-").FullName;
            path = Path.Combine(dir, "s.sock");
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            return new ScriptedServer(dir, listener, script);
        }

        public void Headers(List<byte> block, bool endStream) => Frame(1, (byte)(0x4 | (endStream ? 1 : 0)), block.ToArray());

        public void Data(byte[] payload, bool endStream)
        {
            Frame(0, (byte)(endStream ? 1 : 0), payload);
            lock (_gate)
            {
                _connectionWindow -= payload.Length;
                _streamWindow -= payload.Length;
            }
        }

        public void Raw(byte[] bytes) => _connection!.Send(bytes);

        public void Close() => _connection!.Shutdown(SocketShutdown.Both);

        /// <summary>Waits until both of supctl's windows have room for <paramref name="bytes"/>.</summary>
        public void WaitForWindow(int bytes)
        {
            lock (_gate)
            {
                while (Math.Min(_connectionWindow, _streamWindow) < bytes)
                {
                    if (!Monitor.Wait(_gate, TimeSpan.FromSeconds(10))) throw new TimeoutException("supctl granted no more window");
                }
            }
        }

        private void Frame(byte type, byte flags, byte[] payload)
        {
            var frame = new byte[9 + payload.Length];
            frame[0] = (byte)(payload.Length >> 16);
            frame[1] = (byte)(payload.Length >> 8);
            frame[2] = (byte)payload.Length;
            frame[3] = type;
            frame[4] = flags;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), 1);
            payload.CopyTo(frame, 9);
            _connection!.Send(frame);
        }

        // Reads the preface and supctl's frames; applies its SETTINGS and WINDOW_UPDATEs to the windows.
        private void ReadClient()
        {
            using var stream = new NetworkStream(_connection!, ownsSocket: false);
            try
            {
                stream.ReadExactly(new byte[24]);
                var header = new byte[9];
                while (true)
                {
                    stream.ReadExactly(header);
                    var payload = new byte[(header[0] << 16) | (header[1] << 8) | header[2]];
                    stream.ReadExactly(payload);
                    var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7fffffff;
                    lock (_gate)
                    {
                        if (header[3] == 4 && (header[4] & 1) == 0)
                        {
                            for (var i = 0; i < payload.Length; i += 6)
                                if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)) == 4)
                                    _streamWindow += BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(i + 2)) - 65_535;
                        }
                        else if (header[3] == 8)
                        {
                            var increment = BinaryPrimitives.ReadInt32BigEndian(payload);
                            if (streamId == 0) _connectionWindow += increment;
                            else _streamWindow += increment;
                            WindowUpdates++;
                        }
                        Monitor.PulseAll(_gate);
                    }
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or ObjectDisposedException or SocketException)
            {
                // supctl closed the connection: the call is over.
            }
        }

        public void Dispose()
        {
            _connection?.Dispose();
            _listener.Dispose();
            try { _run.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
            Directory.Delete(_dir, recursive: true);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
