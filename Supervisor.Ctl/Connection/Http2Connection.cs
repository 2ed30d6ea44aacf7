// HTTP/2 (RFC 9113) framing for supctl's own gRPC client (H2cCallInvoker): cleartext with prior knowledge over
// supd's Unix socket, one connection per call, the call on stream 1. It exists because supctl must start in a few
// milliseconds, and SocketsHttpHandler (connection pool, thread-pool hand-offs, its HTTP/2 machinery) cost more than
// the rest of supctl; both ends are ours (supd is Kestrel), so a single-stream client is all that is needed.
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Supervisor.Ctl.Connection;

internal enum StreamEventKind { Headers, Data, Reset }

/// <summary>
/// Something that happened on the call's stream. Data points into the connection's buffer: copy it before the next
/// read.
/// </summary>
internal readonly record struct StreamEvent(
    StreamEventKind Kind, bool EndStream, List<KeyValuePair<string, string>>? Headers, ReadOnlyMemory<byte> Data, uint ErrorCode);

/// <summary>The server refused the stream before processing it (GOAWAY with a lower last-stream-id).</summary>
internal sealed class Http2GoAwayException(string message) : IOException(message);

/// <summary>One HTTP/2 connection carrying one request on stream 1; connection-level frames are handled here.</summary>
internal sealed class Http2Connection : IDisposable
{
    private const int StreamId = 1;
    private const int FrameHeaderLength = 9;
    private const int DefaultWindow = 65535;
    // Ours: the protocol default, which we never change, so no frame we accept exceeds it.
    private const int MaxFrameSize = 16384;
    // Our receive window for the stream and the connection, topped up after each half is consumed, so the server
    // never waits for us longer than it takes to read one frame (a `log -f` may run for days).
    private const int ReceiveWindow = 4 << 20;
    // Our SETTINGS_HEADER_TABLE_SIZE: no dynamic table, so the server's HPACK encoder never indexes.
    private const int HeaderTableSize = 0;

    private const byte Data = 0x0, Headers = 0x1, Priority = 0x2, RstStream = 0x3, Settings = 0x4, PushPromise = 0x5,
        Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8, Continuation = 0x9;
    private const byte FlagEndStream = 0x1, FlagAck = 0x1, FlagEndHeaders = 0x4, FlagPadded = 0x8, FlagPriority = 0x20;

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;
    private readonly HPackDecoder _hpack = new();
    private int _peerMaxFrameSize = MaxFrameSize;
    private int _peerInitialWindow = DefaultWindow;
    private long _connectionSendWindow = DefaultWindow, _streamSendWindow = DefaultWindow;
    private int _unacknowledgedData;
    private bool _remoteEnded;
    // A header block split over HEADERS + CONTINUATION frames.
    private int _continuationStream;
    private bool _continuationEndStream;
    private readonly List<byte> _headerBlock = [];
    // A stream event that arrived while we were still sending (waiting for window).
    private StreamEvent? _early;

    private Http2Connection(Socket socket) => _socket = socket;

    /// <summary>Connects to the Unix socket; a failure is the SocketException as the kernel reported it.</summary>
    public static Http2Connection Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return new Http2Connection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the preface, our SETTINGS, the connection window, the request's HEADERS and its DATA with END_STREAM,
    /// in as few writes as flow control allows (one, for any request supctl makes).
    /// </summary>
    public void SendRequest(List<byte> headerBlock, ReadOnlySpan<byte> body)
    {
        var output = new List<byte>(128 + headerBlock.Count + body.Length);
        output.AddRange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        Span<byte> settings = stackalloc byte[18];
        WriteSetting(settings[..6], 0x1, HeaderTableSize);    // SETTINGS_HEADER_TABLE_SIZE
        WriteSetting(settings[6..12], 0x2, 0);                // SETTINGS_ENABLE_PUSH
        WriteSetting(settings[12..], 0x4, ReceiveWindow);     // SETTINGS_INITIAL_WINDOW_SIZE
        AppendFrame(output, Settings, 0, 0, settings);
        AppendWindowUpdate(output, 0, ReceiveWindow - DefaultWindow);

        var block = headerBlock.ToArray().AsSpan();
        var first = Math.Min(block.Length, _peerMaxFrameSize);
        var headerFlags = (byte)((first == block.Length ? FlagEndHeaders : 0) | (body.IsEmpty ? FlagEndStream : 0));
        AppendFrame(output, Headers, headerFlags, StreamId, block[..first]);
        for (var offset = first; offset < block.Length;)
        {
            var length = Math.Min(block.Length - offset, _peerMaxFrameSize);
            AppendFrame(output, Continuation, offset + length == block.Length ? FlagEndHeaders : (byte)0, StreamId, block.Slice(offset, length));
            offset += length;
        }

        var sent = 0;
        while (sent < body.Length)
        {
            var allowed = (int)Math.Min(Math.Min(_connectionSendWindow, _streamSendWindow), _peerMaxFrameSize);
            if (allowed <= 0)
            {
                Flush(output);
                // Wait for WINDOW_UPDATE or SETTINGS; if the server answers (or resets) before reading it all, stop.
                if (WaitForWindow()) return;
                continue;
            }
            var length = Math.Min(allowed, body.Length - sent);
            AppendFrame(output, Data, sent + length == body.Length ? FlagEndStream : (byte)0, StreamId, body.Slice(sent, length));
            _connectionSendWindow -= length;
            _streamSendWindow -= length;
            sent += length;
        }
        Flush(output);
    }

    // Reads frames until a send window opens (false) or a stream event arrives, which is kept for ReadEventAsync (true).
    private bool WaitForWindow()
    {
        while (Math.Min(_connectionSendWindow, _streamSendWindow) <= 0)
        {
            var (type, flags, stream, offset, length) = ReadFrameAsync(sync: true, CancellationToken.None).GetAwaiter().GetResult();
            if (HandleFrame(type, flags, stream, offset, length, out var streamEvent))
            {
                _early = streamEvent with { Data = streamEvent.Data.ToArray() };
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The next event on the call's stream. With `sync` every read blocks the calling thread (no thread-pool hop);
    /// otherwise reads are asynchronous and honour the token.
    /// </summary>
    public async ValueTask<StreamEvent> ReadEventAsync(bool sync, CancellationToken cancellationToken)
    {
        if (_early is { } early)
        {
            _early = null;
            return early;
        }
        while (true)
        {
            var (type, flags, stream, offset, length) = await ReadFrameAsync(sync, cancellationToken).ConfigureAwait(false);
            if (HandleFrame(type, flags, stream, offset, length, out var streamEvent)) return streamEvent;
        }
    }

    // Handles one frame; true with a stream event when it concerns the call's stream.
    private bool HandleFrame(byte type, byte flags, int stream, int offset, int length, out StreamEvent streamEvent)
    {
        streamEvent = default;
        var payload = _buffer.AsSpan(offset, length);
        if (_continuationStream != 0 && type != Continuation)
            throw new Http2ProtocolException($"frame type {type} inside a header block (CONTINUATION expected)");
        switch (type)
        {
            case Data:
            {
                if (stream == 0) throw new Http2ProtocolException("DATA on stream 0");
                var data = Unpad(flags, payload, out var dataOffset, "DATA");
                Consumed(payload.Length);
                if (stream != StreamId) return false;
                if (_remoteEnded) throw new Http2ProtocolException("DATA after the end of the stream");
                _remoteEnded = (flags & FlagEndStream) != 0;
                streamEvent = new StreamEvent(StreamEventKind.Data, _remoteEnded, null, _buffer.AsMemory(offset + dataOffset, data.Length), 0);
                return true;
            }
            case Headers:
            {
                if (stream == 0) throw new Http2ProtocolException("HEADERS on stream 0");
                var fragment = Unpad(flags, payload, out _, "HEADERS");
                if ((flags & FlagPriority) != 0)
                {
                    if (fragment.Length < 5) throw new Http2ProtocolException("HEADERS too short for its priority fields");
                    fragment = fragment[5..];
                }
                _headerBlock.Clear();
                _headerBlock.AddRange(fragment);
                _continuationEndStream = (flags & FlagEndStream) != 0;
                if ((flags & FlagEndHeaders) == 0)
                {
                    _continuationStream = stream;
                    return false;
                }
                return HeaderBlockDone(stream, out streamEvent);
            }
            case Continuation:
            {
                if (_continuationStream == 0 || stream != _continuationStream)
                    throw new Http2ProtocolException("CONTINUATION without a header block to continue");
                _headerBlock.AddRange(payload);
                if ((flags & FlagEndHeaders) == 0) return false;
                _continuationStream = 0;
                return HeaderBlockDone(stream, out streamEvent);
            }
            case RstStream:
            {
                if (stream == 0 || payload.Length != 4) throw new Http2ProtocolException("malformed RST_STREAM");
                if (stream != StreamId) return false;
                _remoteEnded = true;
                streamEvent = new StreamEvent(StreamEventKind.Reset, true, null, default, BinaryPrimitives.ReadUInt32BigEndian(payload));
                return true;
            }
            case Settings:
                if (stream != 0) throw new Http2ProtocolException("SETTINGS on a stream");
                if ((flags & FlagAck) != 0)
                {
                    // From here on the server's encoder works with our table size.
                    _hpack.AllowedMaxSize = HeaderTableSize;
                    return false;
                }
                ApplySettings(payload);
                SendFrame(Settings, FlagAck, 0, []);
                return false;
            case Ping:
                if (stream != 0 || payload.Length != 8) throw new Http2ProtocolException("malformed PING");
                if ((flags & FlagAck) == 0) SendFrame(Ping, FlagAck, 0, payload);
                return false;
            case GoAway:
            {
                if (stream != 0 || payload.Length < 8) throw new Http2ProtocolException("malformed GOAWAY");
                var lastStream = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFFFFFF);
                var code = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
                // A graceful GOAWAY that includes our stream lets it finish; otherwise it was never processed.
                if (lastStream < StreamId)
                {
                    var debug = Encoding.UTF8.GetString(payload[8..]);
                    throw new Http2GoAwayException($"supd closed the connection before taking the call (GOAWAY, {ErrorName(code)}{(debug.Length > 0 ? ": " + debug : "")})");
                }
                return false;
            }
            case WindowUpdate:
            {
                if (payload.Length != 4) throw new Http2ProtocolException("malformed WINDOW_UPDATE");
                var increment = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFFFFFF;
                if (increment == 0) throw new Http2ProtocolException("WINDOW_UPDATE with increment 0");
                if (stream == 0) _connectionSendWindow += increment;
                else if (stream == StreamId) _streamSendWindow += increment;
                if (_connectionSendWindow > int.MaxValue || _streamSendWindow > int.MaxValue)
                    throw new Http2ProtocolException("flow-control window above 2^31-1");
                return false;
            }
            case PushPromise:
                throw new Http2ProtocolException("PUSH_PROMISE although push is disabled");
            case Priority:
            default:
                // PRIORITY is advisory and unknown types must be ignored (RFC 9113 §4.1, §5.5).
                return false;
        }
    }

    private bool HeaderBlockDone(int stream, out StreamEvent streamEvent)
    {
        // Every block is decoded, whichever stream it is on, to keep the HPACK state in step.
        var headers = new List<KeyValuePair<string, string>>();
        _hpack.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_headerBlock), headers);
        streamEvent = default;
        if (stream != StreamId) return false;
        if (_remoteEnded) throw new Http2ProtocolException("HEADERS after the end of the stream");
        _remoteEnded = _continuationEndStream;
        streamEvent = new StreamEvent(StreamEventKind.Headers, _remoteEnded, headers, default, 0);
        return true;
    }

    private void ApplySettings(ReadOnlySpan<byte> payload)
    {
        if (payload.Length % 6 != 0) throw new Http2ProtocolException("SETTINGS length not a multiple of 6");
        for (var i = 0; i < payload.Length; i += 6)
        {
            var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            switch (id)
            {
                case 0x4: // SETTINGS_INITIAL_WINDOW_SIZE: changes the open stream's window by the difference.
                    if (value > int.MaxValue) throw new Http2ProtocolException("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
                    _streamSendWindow += (int)value - _peerInitialWindow;
                    _peerInitialWindow = (int)value;
                    break;
                case 0x5: // SETTINGS_MAX_FRAME_SIZE
                    if (value is < MaxFrameSize or > 16777215) throw new Http2ProtocolException($"SETTINGS_MAX_FRAME_SIZE {value} out of range");
                    _peerMaxFrameSize = (int)value;
                    break;
                case 0x2: // SETTINGS_ENABLE_PUSH: a server may only send 0 or 1.
                    if (value > 1) throw new Http2ProtocolException("SETTINGS_ENABLE_PUSH not 0 or 1");
                    break;
                // HEADER_TABLE_SIZE (we never index), MAX_CONCURRENT_STREAMS (we open one), MAX_HEADER_LIST_SIZE
                // (our headers are a few hundred bytes) and unknown settings need nothing.
            }
        }
    }

    // Strips padding (PADDED flag): the data, and its offset within the frame payload.
    private static ReadOnlySpan<byte> Unpad(byte flags, ReadOnlySpan<byte> payload, out int offset, string frame)
    {
        offset = 0;
        if ((flags & FlagPadded) == 0) return payload;
        if (payload.IsEmpty) throw new Http2ProtocolException($"padded {frame} without a pad length");
        var padding = payload[0];
        if (padding >= payload.Length) throw new Http2ProtocolException($"{frame} padding exceeds the frame");
        offset = 1;
        return payload.Slice(1, payload.Length - 1 - padding);
    }

    // Flow control counts whole DATA payloads (padding included) as soon as they are read off the wire.
    private void Consumed(int length)
    {
        _unacknowledgedData += length;
        if (_unacknowledgedData < ReceiveWindow / 2) return;
        var output = new List<byte>(26);
        AppendWindowUpdate(output, 0, _unacknowledgedData);
        if (!_remoteEnded) AppendWindowUpdate(output, StreamId, _unacknowledgedData);
        _unacknowledgedData = 0;
        Flush(output);
    }

    private async ValueTask<(byte Type, byte Flags, int Stream, int Offset, int Length)> ReadFrameAsync(bool sync, CancellationToken cancellationToken)
    {
        await FillAsync(FrameHeaderLength, sync, cancellationToken).ConfigureAwait(false);
        var header = _buffer.AsSpan(_start, FrameHeaderLength);
        var length = header[0] << 16 | header[1] << 8 | header[2];
        if (length > MaxFrameSize) throw new Http2ProtocolException($"frame of {length} bytes exceeds SETTINGS_MAX_FRAME_SIZE");
        var type = header[3];
        var flags = header[4];
        var stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFFFFFF);
        await FillAsync(FrameHeaderLength + length, sync, cancellationToken).ConfigureAwait(false);
        var offset = _start + FrameHeaderLength;
        _start = offset + length;
        return (type, flags, stream, offset, length);
    }

    // Makes at least `needed` unread bytes available from _start.
    private async ValueTask FillAsync(int needed, bool sync, CancellationToken cancellationToken)
    {
        if (_end - _start >= needed) return;
        if (_buffer.Length - _start < needed)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        while (_end - _start < needed)
        {
            var read = sync
                ? _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None)
                : await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0) throw new IOException("supd closed the connection");
            _end += read;
        }
    }

    private void SendFrame(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var output = new List<byte>(FrameHeaderLength + payload.Length);
        AppendFrame(output, type, flags, stream, payload);
        Flush(output);
    }

    private void Flush(List<byte> output)
    {
        if (output.Count == 0) return;
        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output);
        while (!bytes.IsEmpty) bytes = bytes[_socket.Send(bytes)..];
        output.Clear();
    }

    private static void AppendFrame(List<byte> output, byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[5..], (uint)stream);
        output.AddRange(header);
        output.AddRange(payload);
    }

    private static void AppendWindowUpdate(List<byte> output, int stream, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        AppendFrame(output, WindowUpdate, 0, stream, payload);
    }

    private static void WriteSetting(Span<byte> destination, ushort id, int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
    }

    /// <summary>RFC 9113 §7 error code names, for messages.</summary>
    public static string ErrorName(uint code) => code switch
    {
        0x0 => "NO_ERROR", 0x1 => "PROTOCOL_ERROR", 0x2 => "INTERNAL_ERROR", 0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT", 0x5 => "STREAM_CLOSED", 0x6 => "FRAME_SIZE_ERROR", 0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL", 0x9 => "COMPRESSION_ERROR", 0xA => "CONNECT_ERROR", 0xB => "ENHANCE_YOUR_CALM",
        0xC => "INADEQUATE_SECURITY", 0xD => "HTTP_1_1_REQUIRED", _ => $"0x{code:X}",
    };

    /// <summary>Ends the connection at once (cancellation): a blocked read on another thread returns.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();
}
