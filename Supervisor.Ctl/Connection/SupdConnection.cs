using System.Net.Sockets;
using Grpc.Core;
using Supervisor.Core.Configuration;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Connection;

/// <summary>
/// The gRPC client for supd on its Unix socket. Calls go through <see cref="H2cCallInvoker"/> (gRPC over HTTP/2 with
/// prior knowledge, a connection per call) rather than Grpc.Net.Client, so that supctl starts in milliseconds.
/// </summary>
internal sealed class SupdConnection(string socketPath)
{
    public string SocketPath { get; } = socketPath;
    public ProtoClient Client { get; } = new(new H2cCallInvoker(socketPath));

    /// <summary>--socket, else SUPD_SOCKET, else supd's default for this user.</summary>
    public static string ResolveSocket(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        var fromEnvironment = Environment.GetEnvironmentVariable("SUPD_SOCKET");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        return DefaultPaths.Socket(DefaultPaths.CurrentUid, Environment.GetEnvironmentVariable);
    }

    // .NET reports a missing socket file as "Cannot assign requested address"; say what happened instead. The
    // message is rebuilt from the error code: a synchronous connect's own message also names the endpoint. EACCES
    // comes first: a socket in a directory supctl may not search looks missing to File.Exists, but connect(2) says.
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

internal sealed class ConnectFailedException(string socketPath, string reason)
    : Exception($"cannot connect to supd at {socketPath}: {reason}");
