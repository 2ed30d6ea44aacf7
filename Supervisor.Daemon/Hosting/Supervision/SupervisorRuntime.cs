using Supervisor.Core.Events;
using Supervisor.Core;
using Microsoft.Extensions.Options;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Memory;
using Supervisor.Core.Processes;
using Supervisor.Core.State;
using Supervisor.Core.Systemd;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The supervision loop's part in the host's lifecycle (registered by <c>AddSupervisorCore</c>). Hosted services start
/// in registration order and Kestrel's last, so <see cref="StartAsync"/> (load the job files, start the loop) runs
/// before Kestrel listens and the first request already sees every job; <see cref="StartedAsync"/> emits the boot
/// events once the socket is up. On SIGTERM/SIGINT, <see cref="StoppingAsync"/> ends the event followers' streams
/// (Kestrel would otherwise wait for them before any job is stopped), Kestrel stops, then <see cref="StopAsync"/>:
/// every job is stopped within its kill timeout, and what is still alive after the grace period is SIGKILLed by
/// process group, so supd leaves nothing behind.
/// </summary>
public sealed partial class SupervisorRuntime(
    SupervisorLoop loop,
    IProcessControl processes,
    IOptions<SupervisionOptions> options,
    IOptions<StateOptions> state,
    PersistedGoals goals,
    EventMonitor monitor,
    BurstMemoryTrimmer trimmer,
    IHostApplicationLifetime lifetime,
    ILogger<SupervisorRuntime> log,
    HandoverStart handover,
    SurvivalLifecycle survival,
    SupdExit exit,
    SystemdNotifier? systemd = null) : HostLifecycleStep
{
    /// <summary>supd's exit status when a <c>critical</c> job failed for good.</summary>
    public const int CriticalJobFailedExitCode = 3;

    private readonly CancellationTokenSource _stopping = new();
    private TimeSpan _longestKillTimeout = Defaults.Job.KillTimeout;

    private IReadOnlyList<string> JobDirs => options.Value.JobDirs;

    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        // The default job dir is created; a dir the user named is not (a typo must not become an empty dir).
        if (options.Value.UsesDefaultJobDir) DirectoryCreator.Ensure(JobDirs[0], "job directory");
        return Task.CompletedTask;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (JobTools.Locate(options.Value.Supctl) is { } supctl) JobTools.Install(state.Value.StateDir!, supctl);
        else LogJobToolsMissing(JobTools.NotFound);
        foreach (var dir in JobDirs.Where(d => !Directory.Exists(d))) LogJobDirMissing(dir);
        // After a burst of supervision work, memory goes back to the OS once supd is quiet (Core/Memory).
        loop.Notified += _ => trimmer.OnActivity();
        await StartSupervisionAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Emits <c>startup</c>, then the configured boot events, without waiting for them to finish; as the boot's, so a
    /// job stopped by hand before supd restarted is not started by them.
    /// </summary>
    public override Task StartedAsync(CancellationToken cancellationToken) =>
        // After a re-exec the boot is long over: its jobs run on as they were.
        handover.IsReexec ? Task.CompletedTask : loop.EmitBootEventsAsync([(EventIds.Startup, []), .. ParseEvents(options.Value.BootEvents)]);

    /// <summary>The followers' streams of <c>supctl events -f</c> end when supd begins to stop.</summary>
    public override Task StoppingAsync(CancellationToken cancellationToken)
    {
        monitor.Dispose();
        return Task.CompletedTask;
    }

    private async Task StartSupervisionAsync()
    {
        var loaded = JobDirectoryLoader.Load(JobDirs);
        foreach (var error in loaded.Errors) LogJobFileError(error.ToString());
        if (loaded.Jobs.Count > 0) _longestKillTimeout = loaded.Jobs.Max(j => j.KillTimeout);

        // Persisted goals: what a previous supd left running is adopted where it can be (Survival), the rest of what it
        // recorded (hooks, instances between states) dies first; then the loop learns what the operator did before
        // any event can start a job.
        var store = goals.Store;
        var saved = survival.Saved;
        var bootId = ProcStat.BootId();
        var recovered = survival.Recovered;
        var adoptedPids = recovered?.Instances.Where(i => i.MainPid > 1).Select(i => i.MainPid).ToHashSet() ?? [];
        var adoptedGroups = recovered?.Instances.Where(i => i.MainProcessGroup > 1).Select(i => i.MainProcessGroup).ToHashSet() ?? [];
        var leftovers = saved with { Processes = [.. saved.Processes.Where(p => !adoptedPids.Contains(p.Pid) && !adoptedGroups.Contains(p.ProcessGroup))] };
        // After a re-exec the processes goals.json lists are the ones handed over: adopted below, never killed.
        var killed = handover.IsReexec ? 0 : await LeftoverProcesses.KillAsync(leftovers, bootId, log).ConfigureAwait(false);
        LogGoalsLoaded(store.FilePath, saved.StoppedByHand.Count, saved.StartedByHand.Count, killed);

        var running = loop.StartAsync(_stopping.Token, handover.State);
        _ = running.ContinueWith(t =>
        {
            LogLoopFailed(t.Exception!.GetBaseException());
            Environment.ExitCode = 70;
            lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        // A critical job that fails for good ends supd, non-zero, so a container stops and its orchestrator acts.
        _ = loop.CriticalFailure.ContinueWith(_ =>
        {
            Environment.ExitCode = CriticalJobFailedExitCode;
            lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

        await loop.LoadAsync(loaded.Jobs).ConfigureAwait(false);
        if (handover.State is { } handed)
        {
            foreach (var problem in await loop.AdoptAsync(handed).ConfigureAwait(false)) LogAdoptionProblem(problem);
            LogReexecuted(handed.Generation, handed.Instances.Count);
        }
        else if (recovered is not null)
        {
            foreach (var problem in await loop.AdoptAfterRestartAsync(recovered).ConfigureAwait(false)) LogSurvivorProblem(problem);
            LogAdopted(recovered.Instances.Count(i => i.MainPid > 1), recovered.Instances.Count(i => i.MainPid <= 1), survival.KeeperDescription);
        }
        await loop.RestoreGoalsAsync(saved, store, bootId).ConfigureAwait(false);
        LogStarted(loaded.Jobs.Count, loaded.Errors.Count, string.Join(", ", JobDirs));
    }

    /// <summary>
    /// Re-reads the job dirs and applies them in the loop: the one place a reload happens (SIGHUP and the
    /// ReloadConfiguration RPC both call it). Reloads run one at a time, so an older read never lands after a newer one.
    /// </summary>
    public async Task<ConfigurationChanges> ReloadConfigurationAsync(string why)
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        // systemd (Type=notify) sees the reload begin and end, so `systemctl reload supd` waits for it.
        systemd?.Reloading();
        try
        {
            var loaded = await Task.Run(() => JobDirectoryLoader.Load(JobDirs)).ConfigureAwait(false);
            var changes = await loop.ReloadConfigurationAsync(loaded).ConfigureAwait(false);
            if (loaded.Jobs.Count > 0) _longestKillTimeout = TimeSpan.FromTicks(Math.Max(_longestKillTimeout.Ticks, loaded.Jobs.Max(j => j.KillTimeout).Ticks));
            LogReloaded(why, Names(changes.Added), Names(changes.Changed), Names(changes.Removed));
            foreach (var error in changes.Errors) LogJobFileError(error.ToString());
            return changes;
        }
        finally
        {
            systemd?.Ready();
            _reloading.Release();
        }
    }

    private readonly SemaphoreSlim _reloading = new(1, 1);

    private static string Names(IReadOnlyList<string> jobs) => jobs.Count == 0 ? "none" : string.Join(", ", jobs);

    /// <summary>"filesystem; runlevel RUNLEVEL=2 PREVLEVEL=N" → (filesystem, []), (runlevel, [RUNLEVEL=2, PREVLEVEL=N]).</summary>
    public static IEnumerable<(string Name, string[] Environment)> ParseEvents(string list) =>
        list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(words => (words[0], words[1..]));

    // The shutdown event lets `stop on runlevel [016]` jobs stop in their own order and shutdown tasks run,
    // bounded by the grace period; whatever is still up afterwards is stopped by ShutdownAsync.
    private async Task EmitShutdownEventAsync(TimeSpan grace)
    {
        foreach (var (name, environment) in ParseEvents(options.Value.ShutdownEvent))
        {
            try
            {
                await loop.EmitAsync(name, environment, wait: true).WaitAsync(grace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogShutdownEventTimeout(name, grace.TotalSeconds);
            }
            catch (SupervisorException e)
            {
                LogShutdownEventFailed(name, e.Message);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        systemd?.Stopping();
        if (exit.LeaveJobs && !loop.HasFailed)
        {
            await LeaveJobsRunningAsync().ConfigureAwait(false);
            return;
        }
        var grace = _longestKillTimeout + TimeSpan.FromSeconds(options.Value.ShutdownGraceSeconds);
        if (loop.HasFailed)
        {
            // Nothing to drive: the loop TERMed what it knew of and KILLs it after the longest kill timeout.
            await loop.AfterFailureAsync().WaitAsync(grace, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            await StopJobsAsync(grace).ConfigureAwait(false);
        }
        await processes.DrainOutputAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await loop.DisposeAsync().ConfigureAwait(false);
        LogStopped();
    }

    // systemctl restart (SIGUSR2): the jobs run on for the next supd. The pumps first write what they have read and
    // stop (what jobs write from then on waits in their pipes, which the keeper holds); then the loop saves what runs
    // and ends; goals.json is on disk before supd exits.
    private async Task LeaveJobsRunningAsync()
    {
        if (!processes.Park(TimeSpan.FromSeconds(5))) LogLeaveParkTimeout();
        await loop.LeaveJobsRunningAsync().ConfigureAwait(false);
        if (!await goals.Store.FlushAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false)) LogLeaveSaveFailed(goals.Store.FilePath);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await loop.DisposeAsync().ConfigureAwait(false);
        LogStopped();
    }

    private async Task StopJobsAsync(TimeSpan grace)
    {
        await EmitShutdownEventAsync(grace).ConfigureAwait(false);
        try
        {
            await loop.ShutdownAsync().WaitAsync(grace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogShutdownTimeout(grace.TotalSeconds);
            await loop.KillEverythingAsync().ConfigureAwait(false);
            try
            {
                await loop.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogShutdownIncomplete();
            }
        }
        catch (SupervisorException)
        {
            // The loop failed while the jobs were stopping: it kills what is left itself.
            await loop.AfterFailureAsync().WaitAsync(grace, CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Error}")]
    private partial void LogJobFileError(string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "supd started: {Jobs} jobs loaded, {Errors} job files rejected, from {Dirs}")]
    private partial void LogStarted(int jobs, int errors, string dirs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "The supervision loop failed; supd is stopping")]
    private partial void LogLoopFailed(Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Jobs did not stop within {Seconds}s; killing what is left")]
    private partial void LogShutdownTimeout(double seconds);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Some job processes were still not reaped after SIGKILL")]
    private partial void LogShutdownIncomplete();

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "The shutdown event {Event} did not finish within {Seconds}s; stopping every job now")]
    private partial void LogShutdownEventTimeout(string @event, double seconds);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "The shutdown event {Event} failed: {Reason}")]
    private partial void LogShutdownEventFailed(string @event, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Reloaded the job files ({Why}): added {Added}; changed {Changed}; removed {Removed}")]
    private partial void LogReloaded(string why, string added, string changed, string removed);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Goals from {Path}: {Stopped} instances stopped by hand, {Started} started by hand; {Killed} processes left by a previous supd killed")]
    private partial void LogGoalsLoaded(string path, int stopped, int started, int killed);
    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "{Problem}")]
    private partial void LogJobToolsMissing(string problem);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Job directory {Dir} does not exist; no jobs loaded from it")]
    private partial void LogJobDirMissing(string dir);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Re-exec: {Problem}")]
    private partial void LogAdoptionProblem(string problem);

    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "Re-executed (re-exec {Generation} since supd started): {Instances} instances taken over, none restarted")]
    private partial void LogReexecuted(int generation, int instances);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "After a restart: {Problem}")]
    private partial void LogSurvivorProblem(string problem);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, Message = "Adopted {Running} job instances left running by the previous supd ({Respawning} waiting to respawn); output pipes from {Keeper}")]
    private partial void LogAdopted(int running, int respawning, string keeper);

    [LoggerMessage(EventId = 19, Level = LogLevel.Warning, Message = "Leaving the jobs running: the output pumps did not stop within 5 s; some output read may not be in the logs")]
    private partial void LogLeaveParkTimeout();

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Leaving the jobs running: {Path} could not be written; the next supd cannot adopt them")]
    private partial void LogLeaveSaveFailed(string path);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "supd stopped")]
    private partial void LogStopped();
}
