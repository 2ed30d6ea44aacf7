using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Memory;
using Supervisor.Core.Processes;

namespace Supervisor.Daemon.Hosting;

public static class SupervisionServiceCollectionExtensions
{
    /// <summary>
    /// The supervision loop and what drives it: <see cref="SupervisionOptions"/>, the process control, the event
    /// monitor, the memory trimmer, the job tools (initctl/start/stop… in every job's PATH), the control signals, and
    /// <see cref="SupervisorRuntime"/>, the hosted service that loads the jobs and starts the loop before Kestrel
    /// listens (hosted services start in registration order, Kestrel's last), emits the boot events once the socket is
    /// up, and stops every job on SIGTERM/SIGINT. Needs <c>AddJobLogs</c> and <c>AddPersistedGoals</c>.
    /// </summary>
    /// <param name="jobDirFlags">The --job-dir flags (<see cref="SupdConfiguration.JobDirFlags"/>), or null.</param>
    public static IServiceCollection AddSupervisorCore(this IServiceCollection services, IConfiguration configuration,
        IReadOnlyList<string>? jobDirFlags, ControlSignals signals)
    {
        services.AddSupdOptions<SupervisionOptions, SupervisionOptionsValidator>(o => o
            .Bind(configuration)
            .PostConfigure<SupdEnvironment>((supervision, environment) => supervision.ResolveJobDirs(jobDirFlags, environment)));
        StateOptions.Configure(services, configuration);

        services.TryAddSingleton(TimeProvider.System);
        // Core's settings; other concerns add theirs (AddControlSocket: SUPD_SOCKET in every job's environment).
        services.AddOptions<SupervisorOptions>().Configure<IOptions<SupervisionOptions>, IOptions<StateOptions>>((core, supervision, state) =>
        {
            core.RespawnDelay = supervision.Value.ParseRespawnDelay();
            core.CheckTimeout = supervision.Value.ParseCheckTimeout();
            // The job tools come first in every job's PATH when there is a supctl to link them to.
            if (JobTools.Locate(supervision.Value.Supctl) is not null)
                core.DefaultPath = JobTools.Directory(state.Value.StateDir!) + ":" + core.DefaultPath;
        });
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<SupervisorOptions>>().Value);
        services.AddSingleton<IProcessControl, NativeProcessControl>();
        services.AddSingleton<SupervisorLoop>();
        services.AddSingleton(sp =>
        {
            var supervision = sp.GetRequiredService<IOptions<SupervisionOptions>>().Value;
            return new EventMonitor(sp.GetRequiredService<SupervisorLoop>(), Math.Max(1, supervision.EventHistory), Math.Max(2, supervision.EventQueueSize));
        });
        services.AddSingleton<BurstMemoryTrimmer>();
        services.AddSingleton<SupervisorRuntime>();

        services.AddSingleton(signals);
        services.AddSingleton<ControlSignalHandlers>();
        services.AddHostedService(sp => sp.GetRequiredService<ControlSignalHandlers>());
        services.AddHostedService(sp => sp.GetRequiredService<SupervisorRuntime>());
        return services;
    }
}
