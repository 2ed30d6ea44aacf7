using System.Net.Sockets;
using Grpc.Net.Client;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Tests.Support;

/// <summary>A gRPC client of supd's socket, as supctl makes one, for tests that must talk to it many at a time.</summary>
public sealed class RawClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public RawClient(string socket, int maxSendBytes = 64 * 1024 * 1024)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                return new NetworkStream(s, ownsSocket: true);
            },
        };
        _channel = GrpcChannel.ForAddress("http://supd", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxSendMessageSize = maxSendBytes,
        });
        Client = new ProtoClient(_channel);
    }

    public ProtoClient Client { get; }

    public void Dispose() => _channel.Dispose();
}
