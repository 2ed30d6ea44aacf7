using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Supervisor.Core.Configuration;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Connection;

/// <summary>A gRPC channel to supd over its Unix socket (HTTP/2 with prior knowledge).</summary>
internal sealed class SupdConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public SupdConnection(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw new ConnectFailedException(socketPath, Reason(socketPath, e));
                }
            },
        };
        _channel = GrpcChannel.ForAddress("http://supd", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        Client = new ProtoClient(_channel);
    }

    public string SocketPath { get; }
    public ProtoClient Client { get; }

    /// <summary>--socket, else SUPD_SOCKET, else supd's default for this user.</summary>
    public static string ResolveSocket(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        var fromEnvironment = Environment.GetEnvironmentVariable("SUPD_SOCKET");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        return DefaultPaths.Socket(DefaultPaths.CurrentUid, Environment.GetEnvironmentVariable);
    }

    // .NET reports a missing socket file as "Cannot assign requested address"; say what happened instead.
    private static string Reason(string socketPath, SocketException e) =>
        File.Exists(socketPath) || Directory.Exists(socketPath)
            ? e.SocketErrorCode == SocketError.ConnectionRefused ? "Connection refused (is supd running?)" : e.Message
            : "No such file or directory (is supd running?)";

    /// <summary>Finds the connect failure inside the exception gRPC wraps it in.</summary>
    public static ConnectFailedException? AsConnectFailure(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is ConnectFailedException failed) return failed;
        }
        return null;
    }

    public void Dispose() => _channel.Dispose();
}

internal sealed class ConnectFailedException(string socketPath, string reason)
    : Exception($"cannot connect to supd at {socketPath}: {reason}");
