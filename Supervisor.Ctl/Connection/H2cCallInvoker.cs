// supctl's gRPC transport: a CallInvoker (Grpc.Core.Api, which the generated SupervisorClient targets) that speaks
// gRPC over HTTP/2 cleartext with prior knowledge on supd's Unix socket, one connection per call. It exists because
// supctl must start in a few milliseconds: HttpClient + SocketsHttpHandler + Grpc.Net.Client cost ~4-5 ms of CPU and
// several thread-pool hand-offs per call. Both ends are ours (supd is Kestrel), so unary and server-streaming calls
// with synchronous socket I/O are all supctl needs; errors surface as the RpcExceptions Grpc.Net.Client would throw.
using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Grpc.Core;

namespace Supervisor.Ctl.Connection;

internal sealed class H2cCallInvoker(string socketPath) : CallInvoker
{
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        using var call = new H2cCall<TRequest, TResponse>(socketPath, method, options);
        return call.Unary(request);
    }

    // Completes before returning: supctl awaits the response at once, and a synchronous call needs no thread pool.
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new H2cCall<TRequest, TResponse>(socketPath, method, options);
        Task<TResponse> response;
        try
        {
            response = Task.FromResult(call.Unary(request));
        }
        catch (Exception e)
        {
            response = Task.FromException<TResponse>(e);
        }
        return new AsyncUnaryCall<TResponse>(response, call.ResponseHeaders, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new H2cCall<TRequest, TResponse>(socketPath, method, options);
        call.Start(request, deferErrors: true);
        return new AsyncServerStreamingCall<TResponse>(call, call.ResponseHeaders, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{method.FullName}: supctl's transport has no client-streaming calls (supervisor.proto has none)");

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{method.FullName}: supctl's transport has no duplex-streaming calls (supervisor.proto has none)");
}

/// <summary>One gRPC call on its own connection; as a stream reader it yields a server-streaming call's replies.</summary>
internal sealed class H2cCall<TRequest, TResponse>(string socketPath, Method<TRequest, TResponse> method, CallOptions options)
    : IAsyncStreamReader<TResponse>, IDisposable
{
    // Grpc.Net.Client's default MaxReceiveMessageSize.
    private const int MaxReceiveMessageSize = 4 * 1024 * 1024;

    private readonly TaskCompletionSource<Metadata> _headersSource = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Http2Connection? _connection;
    private CancellationToken _token;
    private CancellationTokenSource? _deadline;
    private CancellationTokenRegistration _registration;
    private RpcException? _startError;
    private bool _headersSeen;
    private Status? _status;
    private Metadata? _trailers;
    // Received gRPC framing (5-byte prefix + message), possibly several messages or part of one.
    private byte[] _messages = [];
    private int _messagesStart, _messagesEnd;
    private bool _started;

    public TResponse Current { get; private set; } = default!;

    /// <summary>
    /// The response headers. They arrive as the call is read (there is no background reader): a unary call has them
    /// when it returns, a streaming call once its first MoveNext has returned.
    /// </summary>
    public Task<Metadata> ResponseHeaders => _headersSource.Task;

    public Status GetStatus() => _status ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() => _trailers ?? throw new InvalidOperationException("Can't get the call trailers because the call has not completed.");

    /// <summary>Connects and sends the request; with deferErrors a failure is thrown by the first read instead.</summary>
    public void Start(TRequest request, bool deferErrors)
    {
        _started = true;
        try
        {
            StartCore(request);
        }
        catch (RpcException e) when (deferErrors)
        {
            _startError = e;
        }
    }

    private void StartCore(TRequest request)
    {
        _token = options.CancellationToken;
        string? timeout = null;
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) throw Fail(new Status(StatusCode.DeadlineExceeded, string.Empty));
            // grpc-timeout allows 8 digits; milliseconds cover ~27 hours, longer deadlines in seconds.
            timeout = remaining.TotalMilliseconds < 1e8 ? $"{Math.Ceiling(remaining.TotalMilliseconds)}m" : $"{Math.Ceiling(remaining.TotalSeconds)}S";
            _deadline = CancellationTokenSource.CreateLinkedTokenSource(_token);
            _deadline.CancelAfter(remaining);
            _token = _deadline.Token;
        }
        if (_token.IsCancellationRequested) throw Fail(CancelledStatus());

        byte[] body;
        try
        {
            var context = new MessageSerializationContext();
            method.RequestMarshaller.ContextualSerializer(request, context);
            body = context.Framed();
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Fail(new Status(StatusCode.Internal, "Error serializing message.", e));
        }

        try
        {
            _connection = Http2Connection.Connect(socketPath);
        }
        catch (SocketException e)
        {
            var failure = new ConnectFailedException(socketPath, SupdConnection.Reason(socketPath, e));
            throw Fail(new Status(StatusCode.Unavailable, $"Error starting gRPC call. {nameof(ConnectFailedException)}: {failure.Message}", failure));
        }
        if (_token.CanBeCanceled) _registration = _token.UnsafeRegister(static state => ((Http2Connection)state!).Abort(), _connection);

        try
        {
            _connection.SendRequest(RequestHeaders(timeout), body);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Fail(TransportStatus("Error starting gRPC call.", e));
        }
    }

    private List<byte> RequestHeaders(string? timeout)
    {
        var block = new List<byte>(256);
        HPackEncoder.WriteIndexed(block, 3);                  // :method POST
        HPackEncoder.WriteIndexed(block, 6);                  // :scheme http
        HPackEncoder.WriteLiteral(block, 4, method.FullName);  // :path (FullName is "/package.Service/Method")
        HPackEncoder.WriteLiteral(block, 1, "localhost");     // :authority
        HPackEncoder.WriteLiteral(block, 31, "application/grpc"); // content-type
        HPackEncoder.WriteLiteral(block, "te", "trailers");
        HPackEncoder.WriteLiteral(block, 58, "supctl");       // user-agent
        if (timeout is not null) HPackEncoder.WriteLiteral(block, "grpc-timeout", timeout);
        if (options.Headers is { } headers)
        {
            foreach (var entry in headers)
            {
                HPackEncoder.WriteLiteral(block, entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value);
            }
        }
        return block;
    }

    public TResponse Unary(TRequest request)
    {
        try
        {
            Start(request, deferErrors: false);
            if (!ReadMessage(sync: true, CancellationToken.None).GetAwaiter().GetResult())
            {
                if (_status!.Value.StatusCode != StatusCode.OK) throw new RpcException(_status.Value, _trailers!);
                throw Fail(new Status(StatusCode.Internal, "Failed to deserialize response message."));
            }
            var response = Current;
            // The trailers (with the status) follow the one message.
            if (ReadMessage(sync: true, CancellationToken.None).GetAwaiter().GetResult())
                throw Fail(new Status(StatusCode.Internal, "Unexpected second response message on a unary call."));
            if (_status!.Value.StatusCode != StatusCode.OK) throw new RpcException(_status.Value, _trailers!);
            return response;
        }
        finally
        {
            Close();
        }
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (!_started) throw new InvalidOperationException("The call has not been started.");
        if (_startError is { } error)
        {
            _startError = null;
            throw error;
        }
        if (_status is { } ended)
        {
            if (ended.StatusCode == StatusCode.OK) return false;
            throw new RpcException(ended, _trailers!);
        }
        if (await ReadMessage(sync: false, cancellationToken).ConfigureAwait(false)) return true;
        if (_status!.Value.StatusCode != StatusCode.OK) throw new RpcException(_status.Value, _trailers!);
        return false;
    }

    // Reads until a whole message is in Current (true) or the call has ended (false, _status set).
    private async ValueTask<bool> ReadMessage(bool sync, CancellationToken readToken)
    {
        using var readRegistration = readToken.CanBeCanceled && readToken != _token
            ? readToken.UnsafeRegister(static state => ((Http2Connection)state!).Abort(), _connection)
            : default;
        while (true)
        {
            if (TryTakeMessage()) return true;
            if (_status is not null) return false;
            StreamEvent streamEvent;
            try
            {
                streamEvent = await _connection!.ReadEventAsync(sync, _token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not RpcException)
            {
                throw Fail(readToken.IsCancellationRequested && !_token.IsCancellationRequested
                    ? CancelledStatus()
                    : TransportStatus(_headersSeen ? "Error reading next message." : "Error starting gRPC call.", e));
            }
            Handle(streamEvent);
        }
    }

    private void Handle(StreamEvent streamEvent)
    {
        switch (streamEvent.Kind)
        {
            case StreamEventKind.Headers when !_headersSeen:
            {
                _headersSeen = true;
                var headers = streamEvent.Headers!;
                var httpStatus = Find(headers, ":status");
                if (httpStatus != "200")
                {
                    var code = int.TryParse(httpStatus, out var number) ? HttpStatusToGrpc(number) : StatusCode.Internal;
                    throw Fail(new Status(code, $"Bad gRPC response. HTTP status code: {httpStatus}"));
                }
                var metadata = ToMetadata(headers, skipContentType: true);
                if (streamEvent.EndStream)
                {
                    // Trailers-only: the status is in the headers.
                    _headersSource.TrySetResult(metadata);
                    Finish(StatusFrom(headers), ToMetadata(headers, skipContentType: false));
                    return;
                }
                var contentType = Find(headers, "content-type");
                if (contentType is null || !contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
                    throw Fail(new Status(StatusCode.Cancelled, $"Bad gRPC response. Invalid content-type value: {contentType}"));
                _headersSource.TrySetResult(metadata);
                return;
            }
            case StreamEventKind.Headers:
                if (!streamEvent.EndStream) throw Fail(new Status(StatusCode.Internal, "Bad gRPC response. Trailers without END_STREAM."));
                Finish(StatusFrom(streamEvent.Headers!), ToMetadata(streamEvent.Headers!, skipContentType: false));
                return;
            case StreamEventKind.Data:
                if (!_headersSeen) throw Fail(new Status(StatusCode.Internal, "Bad gRPC response. DATA before the response headers."));
                Append(streamEvent.Data.Span);
                if (streamEvent.EndStream) Finish(new Status(StatusCode.Cancelled, "No grpc-status found on response."), new Metadata());
                return;
            case StreamEventKind.Reset:
                // As Grpc.Net.Client maps an HTTP/2 stream reset (gRPC's PROTOCOL-HTTP2 mapping).
                var resetCode = streamEvent.ErrorCode switch
                {
                    0x7 => StatusCode.Unavailable,       // REFUSED_STREAM
                    0x8 => StatusCode.Cancelled,         // CANCEL
                    0xB => StatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
                    0xC => StatusCode.PermissionDenied,  // INADEQUATE_SECURITY
                    _ => StatusCode.Internal,
                };
                Finish(new Status(resetCode, $"The HTTP/2 server reset the stream. HTTP/2 error code '{Http2Connection.ErrorName(streamEvent.ErrorCode)}' (0x{streamEvent.ErrorCode:x})."), new Metadata());
                return;
        }
    }

    // Appends received gRPC framing, compacting or growing the buffer as needed.
    private void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        if (_messages.Length - _messagesEnd < data.Length)
        {
            var pending = _messagesEnd - _messagesStart;
            var target = pending + data.Length <= _messages.Length ? _messages : new byte[Math.Max(pending + data.Length, Math.Max(_messages.Length * 2, 16 * 1024))];
            Buffer.BlockCopy(_messages, _messagesStart, target, 0, pending);
            _messages = target;
            _messagesStart = 0;
            _messagesEnd = pending;
        }
        data.CopyTo(_messages.AsSpan(_messagesEnd));
        _messagesEnd += data.Length;
    }

    private bool TryTakeMessage()
    {
        var pending = _messagesEnd - _messagesStart;
        if (pending < 5)
        {
            if (_status is { StatusCode: StatusCode.OK } && pending > 0) _status = new Status(StatusCode.Internal, "Incomplete message.");
            return false;
        }
        var prefix = _messages.AsSpan(_messagesStart, 5);
        if (prefix[0] != 0)
            throw Fail(new Status(StatusCode.Internal, "Received a compressed message, but supctl does not accept compression."));
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (length > MaxReceiveMessageSize)
            throw Fail(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."));
        if (pending - 5 < length)
        {
            if (_status is { StatusCode: StatusCode.OK }) _status = new Status(StatusCode.Internal, "Incomplete message.");
            return false;
        }
        var payload = _messages.AsMemory(_messagesStart + 5, (int)length);
        _messagesStart += 5 + (int)length;
        try
        {
            Current = method.ResponseMarshaller.ContextualDeserializer(new MessageDeserializationContext(payload));
        }
        catch (Exception e)
        {
            throw Fail(new Status(StatusCode.Internal, "Failed to deserialize response message.", e));
        }
        return true;
    }

    private static Status StatusFrom(List<KeyValuePair<string, string>> trailers)
    {
        var status = Find(trailers, "grpc-status");
        if (status is null) return new Status(StatusCode.Cancelled, "No grpc-status found on response.");
        if (!int.TryParse(status, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
            return new Status(StatusCode.Unknown, $"Unexpected grpc-status value: {status}");
        var message = Find(trailers, "grpc-message");
        // grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses").
        return new Status((StatusCode)code, message is null ? string.Empty : Uri.UnescapeDataString(message));
    }

    // Headers as gRPC metadata: pseudo-headers left out, "-bin" values base64-decoded (padding optional).
    private static Metadata ToMetadata(List<KeyValuePair<string, string>> headers, bool skipContentType)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in headers)
        {
            if (name.StartsWith(':') || (skipContentType && name == "content-type")) continue;
            if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                var padded = value.Length % 4 == 0 ? value : value + new string('=', 4 - value.Length % 4);
                metadata.Add(name, Convert.FromBase64String(padded));
            }
            else
            {
                metadata.Add(name, value);
            }
        }
        return metadata;
    }

    private static string? Find(List<KeyValuePair<string, string>> headers, string name)
    {
        foreach (var (key, value) in headers)
        {
            if (key == name) return value;
        }
        return null;
    }

    // gRPC's HTTP-to-gRPC status mapping (doc/http-grpc-status-mapping.md), as Grpc.Net.Client applies it.
    private static StatusCode HttpStatusToGrpc(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private Status CancelledStatus() => _deadline is { IsCancellationRequested: true } && !options.CancellationToken.IsCancellationRequested
        ? new Status(StatusCode.DeadlineExceeded, string.Empty)
        : new Status(StatusCode.Cancelled, "Call canceled by the client.");

    private Status TransportStatus(string context, Exception e)
    {
        if (_token.IsCancellationRequested) return CancelledStatus();
        var code = e is Http2ProtocolException ? StatusCode.Internal : StatusCode.Unavailable;
        return new Status(code, $"{context} {e.GetType().Name}: {e.Message}", e);
    }

    // Ends the call with a status; the exception to throw for it.
    private RpcException Fail(Status status)
    {
        Finish(status, _trailers ?? new Metadata());
        return new RpcException(status, _trailers!);
    }

    private void Finish(Status status, Metadata trailers)
    {
        if (_status is null)
        {
            _status = status;
            _trailers = trailers;
        }
        if (!_headersSource.Task.IsCompleted)
        {
            if (status.StatusCode == StatusCode.OK) _headersSource.TrySetResult(new Metadata());
            else _headersSource.TrySetException(new RpcException(status, trailers));
            // Nobody may ever ask for the headers; that is no error.
            _ = _headersSource.Task.Exception;
        }
        // The stream is over: the connection is of no further use.
        Close();
    }

    private void Close()
    {
        _registration.Dispose();
        _registration = default;
        _connection?.Dispose();
        _deadline?.Dispose();
        _deadline = null;
    }

    public void Dispose()
    {
        if (_status is null) Finish(new Status(StatusCode.Cancelled, "gRPC call disposed."), new Metadata());
        Close();
    }
}

/// <summary>Collects a serialized request (the generated code writes protobuf into a buffer writer).</summary>
internal sealed class MessageSerializationContext : SerializationContext
{
    private readonly ArrayBufferWriter<byte> _writer = new(256);
    private byte[]? _payload;

    public override void Complete(byte[] payload) => _payload = payload;
    public override IBufferWriter<byte> GetBufferWriter() => _writer;
    public override void SetPayloadLength(int payloadLength) { }
    public override void Complete() { }

    /// <summary>The message with gRPC's 5-byte prefix: not compressed, big-endian length.</summary>
    public byte[] Framed()
    {
        var message = _payload is null ? _writer.WrittenSpan : _payload;
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed.AsSpan(5));
        return framed;
    }
}

/// <summary>One received message, valid while it is deserialized.</summary>
internal sealed class MessageDeserializationContext(ReadOnlyMemory<byte> payload) : DeserializationContext
{
    public override int PayloadLength => payload.Length;
    public override byte[] PayloadAsNewBuffer() => payload.ToArray();
    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
}
