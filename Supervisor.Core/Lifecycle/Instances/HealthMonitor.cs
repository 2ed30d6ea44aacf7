using Supervisor.Core.Events;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// supd's <c>health</c> stanza (Docker HEALTHCHECK's meaning and defaults): while an instance runs with its main
/// process up, its health check runs every <c>health interval</c> as a process of the job (its environment,
/// credentials and limits; its output to the job's log), killed after <c>health timeout</c>. <c>health retries</c>
/// failures in a row, not counting those within <c>health start-period</c> of the main process's start, make the
/// instance unhealthy: supd emits <c>unhealthy</c> and restarts it through the respawn path (counted by the respawn
/// limit, delayed by the respawn delay). The first pass after that emits <c>healthy</c>.
/// The check runs beside the states, so it has a timer of its own (<see cref="HealthState.Timer"/>: the next run, or the
/// running check's timeout), armed only in running and disarmed as the instance leaves it. On the loop thread only.
/// </summary>
internal sealed class HealthMonitor(LoopContext loop, SpawnPath spawner, JobEnvironment environments, JobEvents events,
    Action<JobInstance, string> restartUnhealthy)
{
    /// <summary>Entering running: the first check is an interval away. A new main process starts its count afresh.</summary>
    public void Start(JobInstance instance, bool newMainProcess)
    {
        if (instance.Definition.Health is null || !instance.MainAlive) return;
        var health = instance.Health;
        if (newMainProcess)
        {
            health.Failures = 0;
            health.PassedSinceStart = false;
        }
        Arm(instance, instance.Definition.HealthSettings.Interval);
    }

    /// <summary>Leaving running: no more checks; one that runs is killed and its outcome ignored.</summary>
    public void Stop(JobInstance instance)
    {
        var health = instance.Health;
        health.Timer.Disarm();
        if (health.Pid == 0) return;
        loop.Processes.SignalGroup(health.Pid, Signals.SIGKILL);
        health.Pid = 0;
    }

    /// <summary>The health timer fired: run the check, or (one is running) its timeout is reached.</summary>
    public void OnTimer(JobInstance instance, long generation)
    {
        var health = instance.Health;
        if (!health.Timer.Reached(generation)) return;
        if (health.Pid != 0)
        {
            health.TimedOut = true;
            loop.Log.LogHealthTimedOut(instance.DisplayName, health.Pid, instance.Definition.HealthSettings.Timeout.TotalSeconds);
            loop.Processes.SignalGroup(health.Pid, Signals.SIGKILL);
            return;
        }
        if (instance.State != JobState.Running || !instance.MainAlive || instance.Definition.Health is not { } command) return;

        var output = spawner.OutputFor(instance) ?? new OutputTail(null);
        var environment = environments.ForProcess(instance, ProcessKind.Health);
        if (!spawner.Spawn(instance, ProcessKind.Health, command, out var error, environment, output))
        {
            CouldNotRun(instance, error!, output);
            return;
        }
        health.Pid = instance.Pids[ProcessKind.Health];
        health.TimedOut = false;
        health.Output = output;
        Arm(instance, instance.Definition.HealthSettings.Timeout);
    }

    public void OnExited(JobInstance instance, int pid, ExitStatus status)
    {
        var health = instance.Health;
        if (health.Pid != pid) return; // killed as the instance left running: its outcome no longer matters
        health.Pid = 0;
        health.Timer.Disarm();
        var settings = instance.Definition.HealthSettings;
        var outcome = health.TimedOut ? FormattableString.Invariant($"timed out after {settings.Timeout.TotalSeconds:0.###}s")
            : status.IsSignal ? $"killed by signal {Signals.Name(status.Signal)}"
            : $"exit {status.Code}";
        Judge(instance, status.IsSuccess && !health.TimedOut, outcome, status, health.Output);
        if (instance.State == JobState.Running && instance.MainAlive) Arm(instance, settings.Interval);
    }

    /// <summary>The check's exec helper failed: a failed check, as when it cannot be spawned at all.</summary>
    public void OnSpawnFailed(JobInstance instance, int pid, string error)
    {
        var health = instance.Health;
        if (health.Pid != pid) return;
        health.Pid = 0;
        health.Timer.Disarm();
        CouldNotRun(instance, error, health.Output);
    }

    // A check that could not run is a failed one; the next comes after the interval while the job still runs.
    private void CouldNotRun(JobInstance instance, string error, OutputTail? output)
    {
        Judge(instance, passed: false, $"could not run: {error}", null, output);
        if (instance.State == JobState.Running && instance.MainAlive) Arm(instance, instance.Definition.HealthSettings.Interval);
    }

    private void Judge(JobInstance instance, bool passed, string outcome, ExitStatus? status, OutputTail? output)
    {
        var health = instance.Health;
        var settings = instance.Definition.HealthSettings;
        health.Last = new HealthResult(loop.Time.GetUtcNow(), passed, outcome, output);
        if (passed)
        {
            health.Failures = 0;
            health.PassedSinceStart = true;
            if (health.Unhealthy is null) return;
            health.Unhealthy = null;
            loop.Log.LogHealthy(instance.DisplayName);
            events.EmitHealth(EventIds.Healthy, instance, null);
            return;
        }
        // Docker's start period: a service still warming up may fail its checks without it counting.
        if (instance.MainStarted is { } started && loop.Time.GetUtcNow() - started < settings.StartPeriod)
        {
            loop.Log.LogHealthFailedInStartPeriod(instance.DisplayName, outcome);
            return;
        }
        health.Failures++;
        loop.Log.LogHealthFailed(instance.DisplayName, outcome, health.Failures, settings.Retries);
        if (health.Failures < settings.Retries) return;
        health.Unhealthy = $"check failed {health.Failures} times";
        health.Failures = 0;
        events.EmitHealth(EventIds.Unhealthy, instance, status);
        restartUnhealthy(instance, $"unhealthy: {health.Unhealthy}, last: {outcome}");
    }

    private void Arm(JobInstance instance, TimeSpan due) =>
        instance.Health.Timer.Arm(loop.Time, due, generation => loop.Post(new HealthTimerFiredInput(instance, generation)));
}

/// <summary>An instance's health: its check's timer and run, the failures in a row, and the last verdict.</summary>
internal sealed class HealthState
{
    /// <summary>The next run while none runs; the running check's timeout while one does.</summary>
    public InstanceDeadline Timer { get; } = new();

    /// <summary>The running check; 0 when none runs.</summary>
    public int Pid { get; set; }

    public bool TimedOut { get; set; }
    public OutputTail? Output { get; set; }

    /// <summary>Counted failures in a row of the current main process.</summary>
    public int Failures { get; set; }

    /// <summary>Why the instance is unhealthy ("check failed 3 times"); null while healthy (or not yet judged).</summary>
    public string? Unhealthy { get; set; }

    public HealthResult? Last { get; set; }

    /// <summary>A check of the current main process has passed (until then it is "starting", as Docker says).</summary>
    public bool PassedSinceStart { get; set; }

    /// <summary>Docker's words: <c>unhealthy</c> from the verdict until a pass, <c>healthy</c> after a pass, else <c>starting</c>.</summary>
    public string Status => Unhealthy is not null ? "unhealthy" : PassedSinceStart ? "healthy" : "starting";
}

/// <summary>One run of a health check: when it ended, whether it passed, how ("exit 1"), and what it wrote.</summary>
internal sealed record HealthResult(DateTimeOffset At, bool Passed, string Outcome, OutputTail? Output);
