using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Supervisor.Core;
using Supervisor.Core.Handover;
using Supervisor.Core.Interop;
using Supervisor.Core.Processes;
using Supervisor.Core.State;
using Supervisor.Core.Survival;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// <c>PipeKeeper</c> (<c>SUPD_PIPEKEEPER</c>, supd.json): who holds the jobs' output pipes outside supd, so that they
/// outlive a crash of supd: <c>auto</c> (systemd's file descriptor store under systemd, else supd's own fd holder; none
/// when supd is PID 1, whose end is its container's), <c>systemd</c>, <c>holder</c> or <c>none</c>.
/// </summary>
public sealed class SurvivalOptions
{
    public const string Auto = "auto", Systemd = "systemd", Holder = "holder", None = "none";

    public string PipeKeeper { get; set; } = Auto;
}

public sealed class SurvivalOptionsValidator : IValidateOptions<SurvivalOptions>
{
    public ValidateOptionsResult Validate(string? name, SurvivalOptions options) =>
        options.PipeKeeper is SurvivalOptions.Auto or SurvivalOptions.Systemd or SurvivalOptions.Holder or SurvivalOptions.None
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"PipeKeeper must be auto, systemd, holder or none, not \"{options.PipeKeeper}\"");
}

public static class SurvivalServiceCollectionExtensions
{
    /// <summary>
    /// Crash survival (Core/Survival, Lifecycle's LoopHandover): the pipe keeper opened once the socket lock is held
    /// (a second supd must never take the pipes of the one that runs), the survivors a previous supd recorded checked
    /// against the processes that still run, and SIGUSR2 (the unit's RestartKillSignal) as the exit that leaves the jobs
    /// running. Register after <c>AddControlSocket</c> and before <c>AddContainment</c> (the cgroups of the survivors are kept).
    /// </summary>
    public static IServiceCollection AddSurvival(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<SurvivalOptions, SurvivalOptionsValidator>(o => o.Bind(configuration));
        services.AddSingleton<SupdExit>();
        services.AddSingleton<SurvivalLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<SurvivalLifecycle>());
        return services;
    }
}

/// <summary>
/// How supd ends: by default it stops every job; after SIGUSR2 (<c>systemctl restart supd</c> sends it: the unit's
/// RestartKillSignal) it exits leaving them running, their survivors saved and their pipes kept, for the next supd.
/// </summary>
public sealed partial class SupdExit(IHostApplicationLifetime lifetime, ILogger<SupdExit> log) : IDisposable
{
    private volatile bool _leaveJobs;
    private PosixSignalRegistration? _signal;

    public bool LeaveJobs => _leaveJobs;

    /// <summary>From now on SIGUSR2 ends supd leaving its jobs (before, its default action ends supd: a crash, survived the same way).</summary>
    public void Listen() => _signal ??= PosixSignalRegistration.Create((PosixSignal)Signals.SIGUSR2, context =>
    {
        context.Cancel = true;
        Leave("SIGUSR2");
    });

    public void Leave(string why)
    {
        if (_leaveJobs) return;
        _leaveJobs = true;
        LogLeaving(why);
        lifetime.StopApplication();
    }

    public void Dispose() => _signal?.Dispose();

    [LoggerMessage(EventId = 530, Level = LogLevel.Information, Message = "{Why}: supd exits leaving its jobs running, for the next supd to adopt")]
    private partial void LogLeaving(string why);
}

/// <summary>
/// Starting (after the socket lock, before the containment): opens the pipe keeper and hands it to the process control
/// (every main process's pipes are kept from then on), reads goals.json once, takes back the pipes kept from before and
/// checks each survivor the previous supd recorded: its boot, its main process's pid and start time (a pid reused since
/// is some other process), and its cgroup where it had one. What passes is <see cref="Recovered"/>, adopted by
/// <see cref="SupervisorRuntime"/>; pipes nobody claims are let go. Stop (after the jobs): the keeper lets go of
/// everything, or keeps it all when supd leaves its jobs running.
/// </summary>
public sealed partial class SurvivalLifecycle(
    IOptions<SurvivalOptions> options,
    IOptions<ControlSocketOptions> socket,
    PersistedGoals goals,
    HandoverStart handover,
    IProcessControl processes,
    SupdExit exit,
    ILogger<SurvivalLifecycle> log) : HostLifecycleStep
{
    private IPipeKeeper _keeper = new NullPipeKeeper("not opened");

    /// <summary>goals.json as this supd found it (read once, here).</summary>
    public GoalState Saved { get; private set; } = GoalState.Empty;

    /// <summary>The survivors that passed every check, with the pipes the keeper gave back; null when there are none.</summary>
    public HandoverState? Recovered { get; private set; }

    /// <summary>The keeper, for <c>supctl version</c> and the log.</summary>
    public string KeeperDescription => _keeper.Description;

    /// <summary>Where the fd holder listens: beside the control socket, named after it (one holder per supd).</summary>
    public static string HolderSocket(string controlSocket) => controlSocket + ".fdholder";

    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        exit.Listen();
        var mode = options.Value.PipeKeeper switch
        {
            SurvivalOptions.Systemd => PipeKeeperMode.Systemd,
            SurvivalOptions.Holder => PipeKeeperMode.Holder,
            SurvivalOptions.None => PipeKeeperMode.None,
            // supd as PID 1 (a container): its end is the container's, nothing would be left to adopt.
            _ => Environment.ProcessId == 1 ? PipeKeeperMode.None : PipeKeeperMode.Auto,
        };
        _keeper = PipeKeeper.Open(mode, HolderSocket(socket.Value.Socket!), log);
        var keeper = _keeper;
        if (keeper.IsActive)
            processes.PipeKeeper = (new Action<string, int>(keeper.Keep), new Action<string>(name =>
            {
                // Leaving the jobs: the pipes end here only because supd does; the keeper holds them for the next one.
                if (!exit.LeaveJobs) keeper.Forget(name);
            }));

        Saved = goals.Store.Load();
        var recovered = new Dictionary<string, int>(keeper.TakeRecovered(), StringComparer.Ordinal);
        if (handover.IsReexec)
        {
            // The handed-over pipes came through the exec; the keeper's copies of them are not needed twice.
            foreach (var fd in recovered.Values) Libc.Close(fd);
            return Task.CompletedTask;
        }
        Recovered = Verify(Saved.Survivors, ProcStat.BootId(), recovered);
        foreach (var (name, fd) in recovered)
        {
            // Kept for an instance that is gone, or did not pass: nothing will read it.
            Libc.Close(fd);
            keeper.Forget(name);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The survivors still there as recorded, each pipe given its kept descriptor (taken out of <paramref name="kept"/>),
    /// or -1 when the keeper had none of that name. An instance whose main process is gone, or is another process
    /// now, is left out (its goals still apply: a job started by hand starts again).
    /// </summary>
    private HandoverState? Verify(HandoverState? survivors, string bootId, Dictionary<string, int> kept)
    {
        if (survivors is null || survivors.Instances.Count == 0) return null;
        if (survivors.BootId != bootId)
        {
            LogOtherBoot(survivors.Instances.Count);
            return null;
        }
        var adopted = new List<HandedInstance>();
        foreach (var instance in survivors.Instances)
        {
            var name = instance.Instance.Length == 0 ? instance.Job : $"{instance.Job} ({instance.Instance})";
            if (instance.MainPid > 1)
            {
                if (!ProcStat.IsAlive(instance.MainPid, instance.MainStartTime))
                {
                    LogGone(name, instance.MainPid);
                    continue;
                }
                if (instance.Cgroup.Length > 0 && !InCgroup(instance.MainPid, instance.Cgroup))
                {
                    LogNotInCgroup(name, instance.MainPid, instance.Cgroup);
                    continue;
                }
            }
            var pipes = instance.Pipes.Select(pipe => pipe with { Fd = kept.Remove(pipe.Name, out var fd) ? fd : -1 }).ToList();
            adopted.Add(instance with { Pipes = pipes });
        }
        return adopted.Count == 0 ? null : survivors with { Instances = adopted };
    }

    // /proc/PID/cgroup's unified line names the group relative to the hierarchy's root; the record has it absolute.
    private static bool InCgroup(int pid, string cgroup) =>
        Supervisor.Core.Processes.Containment.CgroupFiles.UnifiedGroupOf(pid) is { Length: > 1 } relative
        && cgroup.EndsWith(relative, StringComparison.Ordinal);

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        processes.PipeKeeper = null;
        if (exit.LeaveJobs) _keeper.Detach();
        else _keeper.Release();
        _keeper.Dispose();
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 531, Level = LogLevel.Information, Message = "goals.json lists {Count} running instances of an earlier boot; none can still run")]
    private partial void LogOtherBoot(int count);

    [LoggerMessage(EventId = 532, Level = LogLevel.Information, Message = "Left running by the previous supd: {Job} main process {Pid} is gone; not adopted")]
    private partial void LogGone(string job, int pid);

    [LoggerMessage(EventId = 533, Level = LogLevel.Warning, Message = "Left running by the previous supd: {Job} main process {Pid} is not in its cgroup {Cgroup}; not adopted")]
    private partial void LogNotInCgroup(string job, int pid, string cgroup);
}
