using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Supervisor.Core.Configuration;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// The gRPC client for supd on its Unix socket: Grpc.Net.Client over <see cref="SocketsHttpHandler"/>, whose
/// <see cref="SocketsHttpHandler.ConnectCallback"/> opens the socket; an <c>http://</c> address makes it HTTP/2 with
/// prior knowledge (h2c), as supd's Kestrel expects. One connection, no proxy, no retries or service config.
/// </summary>
internal sealed class SupdConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public SupdConnection(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, ct) => ConnectAsync(socketPath, ct),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        };
        // The host name only fills the :authority header; the socket is the address. Given an HttpClient rather
        // than the handler, the channel sends through it as it is: given a SocketsHttpHandler, it would set up
        // client-side load balancing (subchannels, a pick-first balancer, connectivity tracking) for the one socket,
        // ~200 more methods for a JIT supctl to compile on every run.
        _channel = GrpcChannel.ForAddress("http://supd", new GrpcChannelOptions
        {
            // No HttpClient timeout (its default is 100 s): `log -f`, `events -f` and a start that waits for a long
            // pre-start run as long as they must; Ctrl-C ends them.
            HttpClient = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            DisposeHttpClient = true,
        });
        Client = new ProtoClient(_channel);
    }

    public string SocketPath { get; }
    public ProtoClient Client { get; }

    public void Dispose() => _channel.Dispose();

    /// <summary>--socket, else SUPD_SOCKET, else supd's default for this user.</summary>
    public static string ResolveSocket(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        var fromEnvironment = Environment.GetEnvironmentVariable("SUPD_SOCKET");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        return DefaultPaths.Socket(DefaultPaths.CurrentUid, Environment.GetEnvironmentVariable);
    }

    private static async ValueTask<Stream> ConnectAsync(string socketPath, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ConnectFailedException(socketPath, Reason(socketPath, e),
                e.SocketErrorCode == SocketError.AccessDenied ? Outcome.PermissionDenied : Outcome.Unreachable);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // .NET reports a missing socket file as "Cannot assign requested address"; say what happened instead. The
    // message is rebuilt from the error code: a connect's own message also names the endpoint. EACCES comes first:
    // a socket in a directory supctl may not search looks missing to File.Exists, but connect(2) says.
    public static string Reason(string socketPath, SocketException e) =>
        e.SocketErrorCode == SocketError.AccessDenied ? "Permission denied"
        : File.Exists(socketPath) || Directory.Exists(socketPath)
            ? e.SocketErrorCode == SocketError.ConnectionRefused ? "Connection refused (is supd running?)" : new SocketException((int)e.SocketErrorCode).Message
            : "No such file or directory (is supd running?)";

    /// <summary>Finds the connect failure inside the exception a call's failure to connect is reported as.</summary>
    public static ConnectFailedException? AsConnectFailure(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is ConnectFailedException failed) return failed;
        }
        return null;
    }
}

internal sealed class ConnectFailedException(string socketPath, string reason, Outcome outcome)
    : Exception($"cannot connect to supd at {socketPath}: {reason}")
{
    public Outcome Outcome { get; } = outcome;
}
