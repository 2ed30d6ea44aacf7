using System.Globalization;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The events a job's life emits, with Upstart's variables in Upstart's order (spec §8): starting, started, stopping,
/// stopped, and supd's <c>exited</c>; and the boot events, whose cascade is marked as the boot's.
/// </summary>
internal sealed class JobEvents(EventQueue queue)
{
    // Boot events still running: a job event of an instance they started is part of the boot while they run.
    private int _bootEventsRunning;

    private bool BootCascade(JobInstance instance) => _bootEventsRunning > 0 && instance.StartedByBoot;

    /// <summary>Emits starting/started/stopping/stopped; <paramref name="withResult"/> adds RESULT (and how it failed).</summary>
    public Event Emit(string name, JobInstance instance, bool withResult)
    {
        var environment = Naming(instance);
        if (withResult)
        {
            environment.Set("RESULT", instance.Failed ? "failed" : "ok");
            if (instance.Failed)
            {
                environment.Set("PROCESS", instance.Failure!.Process);
                if (instance.Failure?.Status is { } status) SetExitVariables(environment, status);
            }
        }
        return EmitWithExports(name, environment, instance);
    }

    /// <summary>
    /// supd's <c>exited</c> event: the main process ended, and whether supd respawns it. Emitted every time, before the
    /// respawn's (or the stop's) own events, so <c>start on exited JOB</c> sees every crash; Upstart announced none.
    /// <c>PID</c> is the process that ended: a watcher with <c>instance $PID</c> gets one instance per death, so a
    /// second death while the first one's task still runs is not lost.
    /// </summary>
    public void EmitExited(JobInstance instance, int pid, ExitStatus status, bool respawn)
    {
        var environment = Naming(instance);
        environment.Set("PROCESS", ProcessKind.Main.Name());
        environment.Set("PID", pid.ToString(CultureInfo.InvariantCulture));
        SetExitVariables(environment, status);
        environment.Set("RESPAWN", respawn ? "yes" : "no");
        EmitWithExports(EventIds.Exited, environment, instance);
    }

    /// <summary>
    /// supd's <c>unhealthy</c> (with how the last check ended: <c>EXIT_STATUS</c> or <c>EXIT_SIGNAL</c>, none when it
    /// could not run) and <c>healthy</c>.
    /// </summary>
    public void EmitHealth(string name, JobInstance instance, ExitStatus? lastCheck)
    {
        var environment = Naming(instance);
        if (lastCheck is { } status) SetExitVariables(environment, status);
        EmitWithExports(name, environment, instance);
    }

    /// <summary>
    /// Emits <c>startup</c> and the configured boot events, marked as the boot's (<see cref="Event.Boot"/>): an instance
    /// stopped by hand before supd restarted is not started by them. Does not wait for them to finish.
    /// </summary>
    public void EmitBootEvents(IReadOnlyList<(string Name, string[] Environment)> events)
    {
        foreach (var (name, environment) in events)
        {
            if (string.IsNullOrWhiteSpace(name) || !EnvironmentList.AreAssignments(environment))
                throw new SupervisorException(SupervisorError.InvalidArgument, $"Invalid boot event: {name}");
        }
        foreach (var (name, environment) in events)
        {
            _bootEventsRunning++;
            queue.Emit(name, new EnvironmentList(environment), boot: true).OnFinished.Add(_ => _bootEventsRunning--);
        }
    }

    // Every job event starts with JOB and INSTANCE (spec §8) ...
    private static EnvironmentList Naming(JobInstance instance)
    {
        var environment = new EnvironmentList();
        environment.Set("JOB", instance.Class.Name);
        environment.Set("INSTANCE", instance.Name);
        return environment;
    }

    // ... and ends with the job's exported variables; part of the boot while boot events run.
    private Event EmitWithExports(string name, EnvironmentList environment, JobInstance instance)
    {
        AddExports(environment, instance);
        return queue.Emit(name, environment, BootCascade(instance));
    }

    /// <summary>Upstart's <c>EXIT_STATUS=n</c> or <c>EXIT_SIGNAL=NAME</c> (without SIG).</summary>
    private static void SetExitVariables(EnvironmentList environment, ExitStatus status)
    {
        // supd's own: a process adopted after a restart of supd ended, and its status went to its real parent.
        if (status.IsUnknown)
        {
            environment.Set("EXIT_UNKNOWN", "yes");
            return;
        }
        if (status.IsSignal) environment.Set("EXIT_SIGNAL", Signals.Name(status.Signal));
        else environment.Set("EXIT_STATUS", status.Code.ToString(CultureInfo.InvariantCulture));
        // supd's own: the kernel's OOM killer ended it in its cgroup (its memory limit ran out).
        if (status.OutOfMemory is not null) environment.Set("OOM", "yes");
    }

    private static void AddExports(EnvironmentList environment, JobInstance instance)
    {
        foreach (var key in instance.Definition.Export)
        {
            // Exported variables never override the built-in ones. One a caller without admin set stays untrusted.
            if (environment.Get(key) is not null || instance.Environment.Get(key) is not { } value) continue;
            if (instance.Environment.IsUntrusted(key)) environment.SetUntrusted(key, value);
            else environment.Set(key, value);
        }
    }
}
