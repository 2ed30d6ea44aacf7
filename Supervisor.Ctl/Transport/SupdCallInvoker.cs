using Grpc.Core;

namespace Supervisor.Ctl.Transport;

/// <summary>
/// The generated client's <see cref="CallInvoker"/>: each call is an <see cref="Http2Call"/> of its own on supd's
/// socket, made on the calling thread. Unary calls complete before they return (their tasks are already done); a
/// server stream connects at its first read. supd's API has no client or duplex streams.
/// </summary>
internal sealed class SupdCallInvoker(string socketPath) : CallInvoker
{
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host,
        CallOptions options, TRequest request) =>
        Unary(method, options, request).Response;

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options, TRequest request)
    {
        try
        {
            var (response, headers, trailers) = Unary(method, options, request);
            return new AsyncUnaryCall<TResponse>(Task.FromResult(response), Task.FromResult(headers),
                () => Status.DefaultSuccess, () => trailers, static () => { });
        }
        catch (RpcException e)
        {
            return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(e), Task.FromException<Metadata>(e),
                () => e.Status, () => e.Trailers, static () => { });
        }
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var reader = new ServerStream<TRequest, TResponse>(socketPath, method, options, request);
        return new AsyncServerStreamingCall<TResponse>(reader, static r => ((ServerStream<TRequest, TResponse>)r).HeadersAsync(),
            static r => ((ServerStream<TRequest, TResponse>)r).GetStatus(), static r => ((ServerStream<TRequest, TResponse>)r).GetTrailers(),
            static r => ((ServerStream<TRequest, TResponse>)r).Dispose(), reader);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException("supd's API has no client streams");

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException("supd's API has no duplex streams");

    private (TResponse Response, Metadata Headers, Metadata Trailers) Unary<TRequest, TResponse>(Method<TRequest, TResponse> method,
        CallOptions options, TRequest request)
    {
        return Guard(options.CancellationToken, () =>
        {
            using var call = Open(socketPath, method, options, request);
            var headers = call.ReadHeaders(options.CancellationToken) ?? [];
            var message = call.ReadMessage(options.CancellationToken);
            if (message is not null && call.ReadMessage(options.CancellationToken) is not null)
                throw new RpcException(new Status(StatusCode.Internal, "supd sent more than one reply to a unary call"));
            if (call.Status.StatusCode != StatusCode.OK) throw new RpcException(call.Status, call.Trailers);
            if (message is null) throw new RpcException(new Status(StatusCode.Internal, "supd's reply has no message"));
            return (Deserialize(method, message), headers, call.Trailers);
        });
    }

    internal static Http2Call Open<TRequest, TResponse>(string socketPath, Method<TRequest, TResponse> method, CallOptions options,
        TRequest request)
    {
        var extra = new List<(string, string)>();
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
            extra.Add(("grpc-timeout", $"{Math.Max(1, (long)Math.Ceiling((deadline.ToUniversalTime() - DateTime.UtcNow).TotalMilliseconds))}m"));
        if (options.Headers is { } headers)
        {
            foreach (var entry in headers)
                extra.Add((entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value));
        }
        var call = Http2Call.Start(socketPath, method.FullName, extra, Serialize(method.RequestMarshaller, request), options.CancellationToken);
        call.SetDeadline(options.Deadline);
        return call;
    }

    internal static TResponse Deserialize<TRequest, TResponse>(Method<TRequest, TResponse> method, byte[] message)
    {
        try
        {
            return method.ResponseMarshaller.ContextualDeserializer(new MessageIn(message));
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize response message.", e));
        }
    }

    private static byte[] Serialize<T>(Marshaller<T> marshaller, T message)
    {
        var output = new MessageOut();
        marshaller.ContextualSerializer(message, output);
        return output.Payload ?? throw new InvalidOperationException("the request was not serialized");
    }

    // The generated marshallers are contextual (they write into a buffer writer and read from a sequence).
    private sealed class MessageOut : SerializationContext
    {
        private System.Buffers.ArrayBufferWriter<byte>? _writer;

        public byte[]? Payload { get; private set; }

        public override void Complete(byte[] payload) => Payload = payload;

        public override System.Buffers.IBufferWriter<byte> GetBufferWriter() => _writer ??= new System.Buffers.ArrayBufferWriter<byte>();

        public override void SetPayloadLength(int payloadLength) => _writer ??= new System.Buffers.ArrayBufferWriter<byte>(Math.Max(1, payloadLength));

        public override void Complete() => Payload = _writer?.WrittenSpan.ToArray() ?? [];
    }

    private sealed class MessageIn(byte[] payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }

    /// <summary>
    /// Runs a step of a call and gives every failure as the <see cref="RpcException"/> a caller of a gRPC client
    /// expects: a connect failure as UNAVAILABLE carrying it (<see cref="Commands.SupdConnection.AsConnectFailure"/>), a
    /// cancellation as CANCELLED, a protocol error as INTERNAL.
    /// </summary>
    internal static T Guard<T>(CancellationToken ct, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Commands.ConnectFailedException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message, e));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."));
        }
        catch (Http2ProtocolException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"bad HTTP/2 from supd: {e.Message}", e));
        }
    }

    /// <summary>A server stream: connects at the first read (or when its headers are asked for), reads on the caller's thread.</summary>
    private sealed class ServerStream<TRequest, TResponse>(string socketPath, Method<TRequest, TResponse> method, CallOptions options,
        TRequest request) : IAsyncStreamReader<TResponse>
    {
        private Http2Call? _call;
        private bool _disposed;

        public TResponse Current { get; private set; } = default!;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, cancellationToken);
            try
            {
                return Task.FromResult(Guard(linked.Token, () =>
                {
                    var call = Started(linked.Token);
                    var message = call.ReadMessage(linked.Token);
                    if (message is null)
                    {
                        if (call.Status.StatusCode != StatusCode.OK) throw new RpcException(call.Status, call.Trailers);
                        return false;
                    }
                    Current = Deserialize(method, message);
                    return true;
                }));
            }
            catch (RpcException e)
            {
                return Task.FromException<bool>(e);
            }
        }

        /// <summary>Asked for only by a caller that wants them (the call starts then); otherwise at the first read.</summary>
        public Task<Metadata> HeadersAsync()
        {
            try
            {
                return Task.FromResult(Guard(options.CancellationToken,
                    () => Started(options.CancellationToken).ResponseHeaders ?? []));
            }
            catch (RpcException e)
            {
                return Task.FromException<Metadata>(e);
            }
        }

        private Http2Call Started(CancellationToken ct)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_call is not null) return _call;
            _call = Open(socketPath, method, options, request);
            _call.ReadHeaders(ct);
            return _call;
        }

        public Status GetStatus() => _call is { Ended: true } call ? call.Status
            : throw new InvalidOperationException("Unable to get the status because the call is not complete.");

        public Metadata GetTrailers() => _call is { Ended: true } call ? call.Trailers
            : throw new InvalidOperationException("Unable to get the trailers because the call is not complete.");

        public void Dispose()
        {
            _disposed = true;
            _call?.Dispose();
        }
    }
}
