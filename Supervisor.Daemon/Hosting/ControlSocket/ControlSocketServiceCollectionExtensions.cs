using Supervisor.Core.Events;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Supervisor.Core;
using Supervisor.Core.Access;
using Supervisor.Core.Configuration;
using Supervisor.Core.Lifecycle;
using Supervisor.Daemon.Access;

namespace Supervisor.Daemon.Hosting;

public static class ControlSocketServiceCollectionExtensions
{
    /// <summary>
    /// The gRPC API on Kestrel, HTTP/2 only, on the control socket: supd's own accept loop
    /// (<see cref="GuardedSocketTransport"/>, <see cref="ConnectionGuard"/>), Kestrel's limits from <see cref="Limits"/>,
    /// the peer's credentials captured per connection and every call decided by <see cref="AccessInterceptor"/> (which
    /// needs <c>AddAccessPolicy</c>). <see cref="ControlSocketLifecycle"/> takes the single-instance lock when the host
    /// starts and gives the socket its mode and group once Kestrel listens. Jobs find the socket in <c>SUPD_SOCKET</c>.
    /// </summary>
    public static IServiceCollection AddControlSocket(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<ControlSocketOptions, ControlSocketOptionsValidator>(o => o
            .Bind(configuration)
            .PostConfigure<SupdEnvironment>((socket, environment) =>
                socket.Socket = Path.GetFullPath(socket.Socket ?? DefaultPaths.Socket(environment.Uid, environment.Variables))));
        services.AddOptions<SupervisorOptions>().Configure<IOptions<ControlSocketOptions>>((core, socket) =>
            core.JobEnvironment = [.. core.JobEnvironment, new(EventIds.ProcessVariables.SupdSocket, socket.Value.Socket!)]);

        services.AddSingleton<RequestCounters>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<AccessInterceptor>();
            // A larger message is refused (RESOURCE_EXHAUSTED) before it is parsed; what fits is then checked
            // variable by variable (Access/RequestLimits) before the loop sees it.
            grpc.MaxReceiveMessageSize = Limits.MaxRequestBytes;
        });

        // The control socket's transport: supd's accept loop (connection limits, the fd reserve, EMFILE without spinning).
        services.AddSingleton<ConnectionGuard>();
        services.AddSingleton<GuardedSocketTransport>();
        services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(sp => sp.GetRequiredService<GuardedSocketTransport>());
        services.AddSingleton<ActiveControlCalls>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ControlSocketOptions>>((kestrel, socket) =>
        {
            // Bounds on what one client can make supd hold (docs/security.md, Limits).
            kestrel.Limits.KeepAliveTimeout = Limits.IdleConnectionTimeout;
            kestrel.Limits.Http2.MaxStreamsPerConnection = Limits.MaxStreamsPerConnection;
            kestrel.Limits.MaxRequestHeadersTotalSize = Limits.MaxRequestHeaderBytes;
            kestrel.Limits.MaxRequestHeaderCount = Limits.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestBodySize = Limits.MaxRequestBodyBytes;
            kestrel.ListenUnixSocket(socket.Value.Socket!, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                PeerCredentials.Capture(listen);
            });
        });
        services.AddSingleton<ControlSocketLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<ControlSocketLifecycle>());
        return services;
    }
}

/// <summary>
/// The control socket's part in the host's lifecycle. Starting: the single-instance lock (<see cref="ControlSocketGuard"/>,
/// which also checks the socket's directory). Started (Kestrel listens): the socket's mode and group. Stopping: the
/// count of refused connections. Disposed with the host: the socket and its lock file are removed.
/// </summary>
public sealed partial class ControlSocketLifecycle(IOptions<ControlSocketOptions> options, ConnectionGuard connections, HandoverStart handover,
    ILogger<ControlSocketLifecycle> log)
    : HostLifecycleStep, IDisposable
{
    private ControlSocketGuard? _guard;

    private string Socket => options.Value.Socket!;

    /// <summary>The single-instance lock's descriptor, for a re-exec; -1 before the host starts.</summary>
    public int LockFd => _guard?.LockFd ?? -1;

    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        // After a re-exec the lock and the socket are the previous image's, never let go of.
        _guard = handover.State is { LockFd: >= 3 } state ? ControlSocketGuard.Inherit(Socket, state.LockFd) : ControlSocketGuard.Acquire(Socket);
        return Task.CompletedTask;
    }

    // The socket is created inside a directory that is not writable by others (ControlSocketGuard); its own mode and
    // group are then set as configured. Who may do what is decided per request from the peer's credentials.
    public override Task StartedAsync(CancellationToken cancellationToken)
    {
        var mode = ControlSocketOptions.ParseSocketMode(options.Value.SocketMode);
        if (options.Value.ResolveSocketGroup() is { } gid && SystemAccounts.ChangeGroup(Socket, gid) is { } error)
            throw new StartupException($"cannot set the group of {Socket}: {error}");
        File.SetUnixFileMode(Socket, mode);
        LogListening(Socket);
        return Task.CompletedTask;
    }

    public override Task StoppingAsync(CancellationToken cancellationToken)
    {
        connections.LogTotal();
        return Task.CompletedTask;
    }

    /// <summary>Only a guard this supd took removes the socket: a second supd refused by the lock leaves the first's alone.</summary>
    public void Dispose() => _guard?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on {Socket}")]
    private partial void LogListening(string socket);
}
