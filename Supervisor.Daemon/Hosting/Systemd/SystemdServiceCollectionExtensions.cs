using Microsoft.Extensions.DependencyInjection.Extensions;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Systemd;

namespace Supervisor.Daemon.Hosting;

public static class SystemdServiceCollectionExtensions
{
    /// <summary>
    /// sd_notify when supd was started with <c>NOTIFY_SOCKET</c> (Core/Systemd; a no-op without it): READY=1 with the
    /// first STATUS= line once the boot events were handled (<see cref="SystemdReadiness"/>, registered after the
    /// supervision so it runs after the boot events), RELOADING=1 around reloads and STOPPING=1 from the supervision.
    /// </summary>
    public static IServiceCollection AddSystemdNotify(this IServiceCollection services)
    {
        services.TryAddSingleton(SupdEnvironment.Current);
        services.AddSingleton(sp => new SystemdNotifier(
            sp.GetRequiredService<SupdEnvironment>().Variables(SystemdNotifier.SocketVariable), sp.GetRequiredService<ILogger<SystemdNotifier>>()));
        services.AddSingleton<SystemdStatusReporter>();
        services.AddHostedService<SystemdReadiness>();
        return services;
    }
}

/// <summary>
/// Tells systemd that supd is ready once the loop has handled the boot events (the jobs they start have been
/// started; a round trip through the loop proves it), with the first STATUS= line.
/// </summary>
public sealed partial class SystemdReadiness(SupervisorLoop loop, SystemdNotifier systemd, SystemdStatusReporter status, ILogger<SystemdReadiness> log)
    : HostLifecycleStep
{
    public override async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (!systemd.IsEnabled) return;
        await loop.ListAsync().ConfigureAwait(false);
        await status.StartAsync().ConfigureAwait(false);
        systemd.Ready();
        LogNotifiedReady(systemd.SocketPath!);
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Notified systemd: ready ({Socket})")]
    private partial void LogNotifiedReady(string socket);
}
