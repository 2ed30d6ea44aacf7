using System.Buffers.Binary;
using System.Text;
using Grpc.Core;

namespace Supervisor.Ctl.Transport;

/// <summary>
/// One gRPC call on a connection of its own to supd's socket: HTTP/2 with prior knowledge (h2c), one stream (id 1),
/// blocking reads on the calling thread. supctl makes one call after another, so nothing is multiplexed and no thread
/// reads for it; a cancelled call shuts its socket down (which wakes the read), a deadline is a receive timeout.
/// What supd sends is bounded before it is held: frames (<see cref="MaxFrameBytes"/>), the header list
/// (<see cref="MaxHeaderListBytes"/>), the HPACK table (<see cref="HpackDecoder.MaxTableSize"/>) and each message
/// (<see cref="MaxMessageBytes"/>).
/// </summary>
internal sealed class Http2Call : IDisposable
{
    /// <summary>SETTINGS_MAX_FRAME_SIZE's default, which supctl keeps.</summary>
    public const int MaxFrameBytes = 16 * 1024;
    /// <summary>Advertised as SETTINGS_MAX_HEADER_LIST_SIZE and checked while decoding.</summary>
    public const int MaxHeaderListBytes = 64 * 1024;
    /// <summary>A reply message larger than this fails the call with RESOURCE_EXHAUSTED (Grpc.Net.Client's default).</summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;
    /// <summary>The receive window supctl grants (stream and connection), topped up as it is consumed.</summary>
    private const int ReceiveWindow = 1024 * 1024;
    private const int DefaultWindow = 65_535;
    private const int StreamId = 1;

    private enum FrameType : byte { Data = 0, Headers = 1, Priority = 2, RstStream = 3, Settings = 4, PushPromise = 5, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9 }
    private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    private readonly UnixSocket _socket;
    private readonly HpackDecoder _hpack = new();
    // Not zeroed: only what recv writes is read, and a fresh process then faults in only the pages a reply touches.
    private readonly byte[] _in = GC.AllocateUninitializedArray<byte>(9 + MaxFrameBytes);
    private int _inStart, _inEnd;

    // Send side: supd's windows for what supctl sends (its SETTINGS may change the stream's).
    private long _sendConnectionWindow = DefaultWindow, _sendStreamWindow = DefaultWindow;
    private int _peerInitialWindow = DefaultWindow, _peerMaxFrame = MaxFrameBytes;
    // Receive side: bytes consumed since the last WINDOW_UPDATE.
    private int _unacknowledged;
    // Set before a cancellation shuts the socket: a write that fails then is the cancellation, not a lost connection.
    private bool _cancelled;

    // The response: headers, then messages, then trailers (or headers alone: "trailers-only").
    private readonly List<byte> _headerBlock = [];
    private bool _headerBlockEndsStream, _inHeaderBlock;
    private readonly MessageBuffer _messages = new();
    private Status? _status;

    public Metadata? ResponseHeaders { get; private set; }
    public Metadata Trailers { get; private set; } = [];
    public bool Ended { get; private set; }

    private Http2Call(UnixSocket socket) => _socket = socket;

    /// <summary>Connects and sends the request; supd's answer is read by <see cref="ReadHeaders"/> and <see cref="ReadMessage"/>.</summary>
    public static Http2Call Start(string socketPath, string path, IEnumerable<(string, string)> extraHeaders, byte[] message,
        CancellationToken ct)
    {
        var socket = Connect(socketPath);
        var call = new Http2Call(socket);
        try
        {
            using var cancel = call.CancelOn(ct);
            call.SendRequest(path, extraHeaders, message, ct);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Ends the call when <paramref name="ct"/> fires: a shut-down socket wakes the blocked read.</summary>
    public CancellationTokenRegistration CancelOn(CancellationToken ct) => ct.Register(static s =>
    {
        var call = (Http2Call)s!;
        Volatile.Write(ref call._cancelled, true);
        call._socket.Shutdown();
    }, this);

    /// <summary>A read may wait at most this long (the call's deadline); infinite by default.</summary>
    public void SetDeadline(DateTime? deadline)
    {
        if (deadline is not { } d || d == DateTime.MaxValue) return;
        var left = (d.ToUniversalTime() - DateTime.UtcNow).TotalMilliseconds;
        _socket.SetReceiveTimeout(TimeSpan.FromMilliseconds(Math.Clamp(Math.Ceiling(left), 1, int.MaxValue)));
    }

    private static UnixSocket Connect(string socketPath)
    {
        try
        {
            return UnixSocket.Connect(socketPath);
        }
        catch (UnixSocket.UnixSocketException e)
        {
            throw new Commands.ConnectFailedException(socketPath, Commands.SupdConnection.Reason(socketPath, e),
                e.AccessDenied ? Commands.Outcome.PermissionDenied : Commands.Outcome.Unreachable);
        }
    }

    private void SendRequest(string path, IEnumerable<(string, string)> extraHeaders, byte[] message, CancellationToken ct)
    {
        var output = new List<byte>(256 + message.Length);
        output.AddRange(Preface);
        // SETTINGS: no server push, our receive window, our header list bound; then the connection's window to match.
        Span<byte> settings = stackalloc byte[18];
        Setting(settings[..6], 0x2, 0);
        Setting(settings[6..12], 0x4, ReceiveWindow);
        Setting(settings[12..], 0x6, MaxHeaderListBytes);
        AppendFrame(output, FrameType.Settings, 0, 0, settings);
        AppendWindowUpdate(output, 0, ReceiveWindow - DefaultWindow);

        var block = new List<byte>(128);
        HpackEncoder.Request(block, path, "supd", UserAgent, extraHeaders);
        if (block.Count > MaxFrameBytes) throw new RpcException(new Status(StatusCode.Internal, "request headers too large"));
        AppendFrame(output, FrameType.Headers, EndHeaders, StreamId, block.ToArray());

        // The body: the gRPC length prefix and the message, in DATA frames as supd's windows allow.
        var body = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)message.Length);
        message.CopyTo(body, 5);
        var sent = 0;
        do
        {
            while (Math.Min(_sendConnectionWindow, _sendStreamWindow) <= 0 && body.Length > 0)
            {
                Flush(output);
                if (!ReadFrame(ct)) throw Lost("supd closed the connection before taking the request");
                if (Ended) return; // supd answered (an error) before taking all of it
            }
            var chunk = (int)Math.Min(Math.Min(body.Length - sent, _peerMaxFrame), Math.Min(_sendConnectionWindow, _sendStreamWindow));
            var last = sent + chunk == body.Length;
            AppendFrame(output, FrameType.Data, last ? EndStream : (byte)0, StreamId, body.AsSpan(sent, chunk));
            sent += chunk;
            _sendConnectionWindow -= chunk;
            _sendStreamWindow -= chunk;
        }
        while (sent < body.Length);
        Flush(output);
    }

    private static string UserAgent { get; } = $"supctl/{typeof(Http2Call).Assembly.GetName().Version?.ToString(3)}";

    /// <summary>Reads until the response headers have come; null when the call ended with trailers only.</summary>
    public Metadata? ReadHeaders(CancellationToken ct)
    {
        using var cancel = CancelOn(ct);
        while (ResponseHeaders is null && !Ended)
        {
            if (!ReadFrame(ct)) throw Lost("supd closed the connection before it answered");
        }
        return ResponseHeaders;
    }

    /// <summary>The next message of the reply, or null once the call has ended (then <see cref="Status"/> says how).</summary>
    public byte[]? ReadMessage(CancellationToken ct)
    {
        using var cancel = CancelOn(ct);
        while (true)
        {
            if (_messages.TryTake(out var message)) return message;
            if (Ended)
            {
                if (_messages.Pending > 0) throw new Http2ProtocolException("the reply ends inside a message");
                return null;
            }
            if (!ReadFrame(ct)) throw Lost("supd closed the connection before the reply ended");
        }
    }

    /// <summary>How the call ended, from its trailers (or its HTTP status, or a reset).</summary>
    public Status Status => _status ?? new Status(StatusCode.Internal, "the call has not ended");

    private RpcException Lost(string what) => new(new Status(StatusCode.Unavailable, what));

    // Reads and handles one frame; false at the end of the connection.
    private bool ReadFrame(CancellationToken ct)
    {
        if (!Fill(9, ct)) return false;
        var header = _in.AsSpan(_inStart, 9);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var type = (FrameType)header[3];
        var flags = header[4];
        var stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7fff_ffff);
        if (length > MaxFrameBytes) throw new Http2ProtocolException($"a frame of {length} bytes (at most {MaxFrameBytes})");
        if (!Fill(9 + length, ct)) throw Lost("supd closed the connection inside a frame");
        ReadOnlySpan<byte> payload = _in.AsSpan(_inStart + 9, length);
        _inStart += 9 + length;
        if (_inHeaderBlock && type != FrameType.Continuation) throw new Http2ProtocolException("a header block interrupted");
        switch (type)
        {
            case FrameType.Data:
                if (stream != StreamId || ResponseHeaders is null || Ended) throw new Http2ProtocolException("DATA outside the reply");
                Consumed(length);
                _messages.Append(Unpad(payload, flags));
                if ((flags & EndStream) != 0) EndWithoutTrailers();
                break;
            case FrameType.Headers:
                if (stream != StreamId || Ended) throw new Http2ProtocolException("HEADERS outside the reply");
                payload = Unpad(payload, flags);
                if ((flags & PriorityFlag) != 0) payload = payload.Length >= 5 ? payload[5..] : throw new Http2ProtocolException("a short HEADERS frame");
                _headerBlock.Clear();
                _headerBlockEndsStream = (flags & EndStream) != 0;
                AppendHeaderBlock(payload, flags);
                break;
            case FrameType.Continuation:
                if (!_inHeaderBlock || stream != StreamId) throw new Http2ProtocolException("CONTINUATION outside a header block");
                AppendHeaderBlock(payload, flags);
                break;
            case FrameType.Settings:
                if (stream != 0) throw new Http2ProtocolException("SETTINGS on a stream");
                if ((flags & Ack) == 0) ApplySettings(payload);
                break;
            case FrameType.Ping:
                if ((flags & Ack) == 0 && length == 8)
                {
                    var pong = new List<byte>(17);
                    AppendFrame(pong, FrameType.Ping, Ack, 0, payload);
                    Flush(pong);
                }
                break;
            case FrameType.WindowUpdate:
                if (length != 4) throw new Http2ProtocolException("a WINDOW_UPDATE frame of the wrong size");
                var increment = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fff_ffff;
                if (stream == 0) _sendConnectionWindow += increment;
                else if (stream == StreamId) _sendStreamWindow += increment;
                break;
            case FrameType.RstStream:
                if (stream == StreamId && length == 4) End(Reset(BinaryPrimitives.ReadUInt32BigEndian(payload)));
                break;
            case FrameType.GoAway:
                if (length >= 8)
                {
                    var lastStream = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fff_ffff;
                    var error = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
                    // supd will not answer this stream (it is past the last one it takes), or ends the connection in error.
                    if (lastStream < StreamId) End(new Status(StatusCode.Unavailable, "supd is closing its connections"));
                    else if (error != 0) End(Reset(error));
                }
                break;
            case FrameType.PushPromise:
                throw new Http2ProtocolException("PUSH_PROMISE though push is off");
            default:
                break; // PRIORITY and unknown types are ignored (RFC 9113 §4.1, §5.5)
        }
        return true;
    }

    private void AppendHeaderBlock(ReadOnlySpan<byte> fragment, byte flags)
    {
        if (_headerBlock.Count + fragment.Length > MaxHeaderListBytes) throw new Http2ProtocolException($"a header block over {MaxHeaderListBytes} bytes");
        _headerBlock.AddRange(fragment);
        _inHeaderBlock = (flags & EndHeaders) == 0;
        if (_inHeaderBlock) return;
        List<(string Name, string Value)> fields = [];
        _hpack.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_headerBlock), fields, MaxHeaderListBytes);
        if (ResponseHeaders is null) ResponseHeadersArrived(fields);
        else if (_headerBlockEndsStream) TrailersArrived(fields);
        else throw new Http2ProtocolException("a second header block that does not end the reply");
    }

    private void ResponseHeadersArrived(List<(string Name, string Value)> fields)
    {
        var status = Find(fields, ":status");
        if (status != "200")
        {
            // Not a gRPC answer: the status from the HTTP one (gRPC's mapping).
            End(new Status(status switch
            {
                "400" => StatusCode.Internal,
                "401" => StatusCode.Unauthenticated,
                "403" => StatusCode.PermissionDenied,
                "404" => StatusCode.Unimplemented,
                "429" or "502" or "503" or "504" => StatusCode.Unavailable,
                _ => StatusCode.Unknown,
            }, $"supd answered HTTP {status ?? "without a status"}"));
            return;
        }
        ResponseHeaders = ToMetadata(fields);
        if (_headerBlockEndsStream) TrailersArrived(fields); // trailers-only
        else if (Find(fields, "content-type") is not { } type || !type.StartsWith("application/grpc", StringComparison.Ordinal))
            throw new Http2ProtocolException("a reply that is not gRPC");
    }

    private void TrailersArrived(List<(string Name, string Value)> fields)
    {
        Trailers = ToMetadata(fields);
        var code = Find(fields, "grpc-status");
        End(code is not null && int.TryParse(code, out var c) && c >= 0
            ? new Status((StatusCode)c, PercentDecode(Find(fields, "grpc-message") ?? ""))
            : new Status(StatusCode.Internal, "supd's reply has no grpc-status"));
    }

    private void EndWithoutTrailers() => End(new Status(StatusCode.Internal, "supd's reply ended without trailers"));

    private void End(Status status)
    {
        _status ??= status;
        Ended = true;
    }

    private static Status Reset(uint error) => error switch
    {
        0x8 => new Status(StatusCode.Cancelled, "supd cancelled the call"),
        0x7 => new Status(StatusCode.Unavailable, "supd refused the call (REFUSED_STREAM)"),
        0xb => new Status(StatusCode.ResourceExhausted, "supd is overloaded (ENHANCE_YOUR_CALM)"),
        _ => new Status(StatusCode.Internal, $"supd reset the call (HTTP/2 error {error})"),
    };

    private void ApplySettings(ReadOnlySpan<byte> payload)
    {
        if (payload.Length % 6 != 0) throw new Http2ProtocolException("a SETTINGS frame of the wrong size");
        for (var i = 0; i < payload.Length; i += 6)
        {
            var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            if (id == 0x4)
            {
                if (value > int.MaxValue) throw new Http2ProtocolException("an initial window over 2^31-1");
                _sendStreamWindow += (int)value - _peerInitialWindow;
                _peerInitialWindow = (int)value;
            }
            else if (id == 0x5)
            {
                _peerMaxFrame = (int)Math.Clamp(value, MaxFrameBytes, 16_777_215);
            }
        }
        var ack = new List<byte>(9);
        AppendFrame(ack, FrameType.Settings, Ack, 0, []);
        Flush(ack);
    }

    // Grants supd more room once half of the window is used (stream and connection alike: one stream).
    private void Consumed(int length)
    {
        _unacknowledged += length;
        if (_unacknowledged < ReceiveWindow / 2) return;
        var update = new List<byte>(26);
        AppendWindowUpdate(update, 0, _unacknowledged);
        AppendWindowUpdate(update, StreamId, _unacknowledged);
        _unacknowledged = 0;
        Flush(update);
    }

    private static ReadOnlySpan<byte> Unpad(ReadOnlySpan<byte> payload, byte flags)
    {
        if ((flags & Padded) == 0) return payload;
        if (payload.Length < 1 || payload[0] >= payload.Length) throw new Http2ProtocolException("bad padding");
        return payload[1..^payload[0]];
    }

    // Has at least `count` bytes from _inStart in the buffer; false if the connection ended first.
    private bool Fill(int count, CancellationToken ct)
    {
        if (_inEnd - _inStart >= count) return true;
        if (_inStart > 0)
        {
            Buffer.BlockCopy(_in, _inStart, _in, 0, _inEnd - _inStart);
            _inEnd -= _inStart;
            _inStart = 0;
        }
        while (_inEnd < count)
        {
            int n;
            try
            {
                n = _socket.Receive(_in.AsSpan(_inEnd));
            }
            catch (UnixSocket.UnixSocketException e) when (e.TimedOut)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
            }
            catch (UnixSocket.UnixSocketException e)
            {
                ct.ThrowIfCancellationRequested();
                throw Lost($"lost the connection to supd: {e.Message}");
            }
            if (n == 0)
            {
                ct.ThrowIfCancellationRequested();
                return false;
            }
            _inEnd += n;
        }
        return true;
    }

    private void Flush(List<byte> output)
    {
        if (output.Count == 0) return;
        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output);
        try
        {
            while (bytes.Length > 0) bytes = bytes[_socket.Send(bytes)..];
        }
        catch (UnixSocket.UnixSocketException e)
        {
            if (Volatile.Read(ref _cancelled)) throw new OperationCanceledException();
            throw Lost($"lost the connection to supd: {e.Message}");
        }
        output.Clear();
    }

    private static void AppendFrame(List<byte> output, FrameType type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = (byte)type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], stream);
        output.AddRange(header);
        output.AddRange(payload);
    }

    private static void AppendWindowUpdate(List<byte> output, int stream, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment);
        AppendFrame(output, FrameType.WindowUpdate, 0, stream, payload);
    }

    private static void Setting(Span<byte> into, ushort id, int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(into, id);
        BinaryPrimitives.WriteInt32BigEndian(into[2..], value);
    }

    private static string? Find(List<(string Name, string Value)> fields, string name)
    {
        foreach (var field in fields) if (field.Name == name) return field.Value;
        return null;
    }

    // Response metadata as Grpc.Core shows it: no pseudo-headers, no gRPC's own fields; "-bin" values base64-decoded.
    private static Metadata ToMetadata(List<(string Name, string Value)> fields)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in fields)
        {
            if (name.StartsWith(':') || name is "content-type" or "grpc-status" or "grpc-message" or "te") continue;
            if (name.EndsWith("-bin", StringComparison.Ordinal))
            {
                try { metadata.Add(name, Convert.FromBase64String(value)); } catch (FormatException) { }
            }
            else
            {
                metadata.Add(name, value);
            }
        }
        return metadata;
    }

    // grpc-message is percent-encoded UTF-8 (the gRPC HTTP/2 protocol); a malformed escape is kept as it is.
    internal static string PercentDecode(string value)
    {
        if (!value.Contains('%')) return value;
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && Uri.IsHexDigit(value[i + 1]) && Uri.IsHexDigit(value[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>DATA payloads gathered into length-prefixed gRPC messages, each at most <see cref="MaxMessageBytes"/>.</summary>
    private sealed class MessageBuffer
    {
        private readonly Queue<byte[]> _ready = new();
        private readonly byte[] _prefix = new byte[5];
        private int _prefixHave;
        private byte[]? _message;
        private int _messageHave;

        public int Pending => _prefixHave + _messageHave;

        public void Append(ReadOnlySpan<byte> data)
        {
            while (data.Length > 0)
            {
                if (_message is null)
                {
                    var take = Math.Min(5 - _prefixHave, data.Length);
                    data[..take].CopyTo(_prefix.AsSpan(_prefixHave));
                    _prefixHave += take;
                    data = data[take..];
                    if (_prefixHave < 5) return;
                    if (_prefix[0] != 0) throw new RpcException(new Status(StatusCode.Internal, "supd sent a compressed message, which supctl does not ask for"));
                    var length = BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
                    if (length > MaxMessageBytes)
                        throw new RpcException(new Status(StatusCode.ResourceExhausted, $"supd's reply is {length} bytes, over supctl's bound of {MaxMessageBytes}"));
                    _message = new byte[length];
                    _messageHave = 0;
                    _prefixHave = 0;
                }
                var part = Math.Min(_message.Length - _messageHave, data.Length);
                data[..part].CopyTo(_message.AsSpan(_messageHave));
                _messageHave += part;
                data = data[part..];
                // A zero-length message completes here too, in the pass that read its prefix.
                if (_messageHave == _message.Length)
                {
                    _ready.Enqueue(_message);
                    _message = null;
                    _messageHave = 0;
                }
            }
        }

        public bool TryTake(out byte[] message) => _ready.TryDequeue(out message!);
    }
}
