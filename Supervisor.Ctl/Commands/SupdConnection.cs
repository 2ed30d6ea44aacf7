using Grpc.Core;
using Supervisor.Core.Configuration;
using Supervisor.Ctl.Transport;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// The gRPC client for supd on its Unix socket: the generated client over <see cref="SupdCallInvoker"/>, which makes
/// each call on a connection of its own (HTTP/2 with prior knowledge, as supd's Kestrel expects). Not Grpc.Net.Client:
/// over HttpClient it cost a short-lived supctl about 19 ms of CPU per run (docs/ARCHITECTURE.md, "supctl's transport").
/// </summary>
internal sealed class SupdConnection : IDisposable
{
    public SupdConnection(string socketPath)
    {
        SocketPath = socketPath;
        Client = new ProtoClient(new SupdCallInvoker(socketPath));
    }

    public string SocketPath { get; }
    public ProtoClient Client { get; }

    // Every call owns its connection; nothing is left open between calls.
    public void Dispose() { }

    /// <summary>--socket, else SUPD_SOCKET, else supd's default for this user.</summary>
    public static string ResolveSocket(string? option)
    {
        if (!string.IsNullOrEmpty(option)) return option;
        var fromEnvironment = Environment.GetEnvironmentVariable("SUPD_SOCKET");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        return DefaultPaths.Socket(DefaultPaths.CurrentUid, Environment.GetEnvironmentVariable);
    }

    // connect(2) says ENOENT for a missing file but also ECONNREFUSED for a socket file nobody listens on: say which.
    // EACCES comes first: a socket in a directory supctl may not search looks missing to File.Exists, but connect says.
    internal static string Reason(string socketPath, Transport.UnixSocket.UnixSocketException e) =>
        e.AccessDenied ? "Permission denied"
        : File.Exists(socketPath) || Directory.Exists(socketPath)
            ? e.Refused ? "Connection refused (is supd running?)" : e.Message
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
