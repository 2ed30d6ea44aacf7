using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Goals that survive a restart: what an operator did by hand, and the processes supd runs (Core/State).
///
/// A stop by hand is not a ban (Upstart's rule): within a run, the next event that satisfies <c>start on</c> starts the
/// job again. Across a restart of supd it is remembered: the new supd's boot events (startup and BootEvents, and the job
/// events of what they start while they run) do not start it; events after them act as usual. The ban is
/// <c>disable</c>. The goals themselves are a <see cref="GoalRecord"/>; this class restores them, records what
/// requests do, and hands a snapshot to the store after each burst of inputs.
/// </summary>
internal sealed class PersistedGoals(LoopContext loop, JobEnvironment environments, InstanceLifecycle lifecycle, Func<bool> inputsWaiting)
{
    private static readonly TimeSpan SaveInterval = TimeSpan.FromMilliseconds(100);
    private readonly Dictionary<int, ulong> _startTimes = [];
    private IGoalStore? _store;
    private string _bootId = "";
    private long _savedAt;

    private GoalRecord Goals => loop.Goals;

    /// <summary>
    /// Applies goals saved by an earlier supd, before the boot events: instances stopped by hand are not started by
    /// the boot events (later events start them as usual); instances started by hand start again with their
    /// variables; disabled jobs stay disabled. From then on every change is handed to <paramref name="store"/>.
    /// </summary>
    public void Restore(GoalState state, IGoalStore store, string bootId)
    {
        _store = store;
        _bootId = bootId;
        foreach (var goal in state.StoppedByHand)
        {
            Goals.RestoreStop(goal);
            loop.Log.LogGoalRestored(StatusLineFormat.DisplayName(goal.Job, goal.Instance), "stays stopped (stopped by hand): the boot events do not start it");
        }
        foreach (var disabled in state.Disabled.Take(GoalRecord.MaxDisabledJobs))
        {
            // Kept even when the job is not loaded now: its file may be broken for the moment, or come back.
            if (!Goals.RestoreDisabled(disabled)) continue;
            loop.Log.LogGoalRestored(disabled.Job, $"stays disabled (by {disabled.By}): events do not start it");
        }
        foreach (var goal in state.StartedByHand) RestoreStart(goal);
        Goals.Dirty = true;
    }

    private void RestoreStart(InstanceGoal goal)
    {
        var name = StatusLineFormat.DisplayName(goal.Job, goal.Instance);
        if (!loop.Registry.Jobs.TryGetValue(goal.Job, out var jobClass) || !EnvironmentList.AreAssignments(goal.Variables))
        {
            loop.Log.LogGoalRestored(name, "was started by hand but its job no longer exists; forgotten");
            return;
        }
        var variables = goal.Variables;
        if (goal.Untrusted)
        {
            // The job may have changed since: keep only what it accepts from such a caller now.
            variables = variables.Where(v => VariablePolicy.Refusal(jobClass.Definition, EnvironmentList.Split(v).Key,
                environments.Configured) is null).ToArray();
        }
        Goals.RestoreStart(goal.Job, goal.Instance, variables, goal.Untrusted);
        var instance = loop.Registry.Select(jobClass, environments.ForRequest(jobClass.Definition, variables), goal.Instance, create: true)!;
        if (instance.Goal == JobGoal.Start) return;
        loop.Log.LogGoalRestored(name, "starts again (started by hand)");
        instance.PendingStartVariables = new EnvironmentList(variables);
        if (goal.Untrusted) instance.PendingStartVariables.MarkAllUntrusted();
        lifecycle.ChangeGoal(instance, JobGoal.Start);
    }

    /// <summary>An operator's start (not one a job makes on itself from inside, which names its instance).</summary>
    public void StartedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        Goals.StartedByHand(instance.Class.Name, instance.Name, input.Environment.ToArray(), untrusted: input.Restricted is not null);
    }

    public void RestartedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        Goals.RestartedByHand(instance.Class.Name, instance.Name, input.Environment.ToArray());
    }

    /// <summary>An operator's stop; a job stopping itself (<c>stop; exit 0</c> in pre-start) is no operator's goal.</summary>
    public void StoppedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        Goals.StoppedByHand(instance.Class.Name, instance.Name, input.By, loop.Time.GetUtcNow());
    }

    /// <summary>
    /// <c>supctl disable JOB</c> (Upstart's <c>manual</c>, <c>systemctl disable</c>): no event starts the job until it is
    /// enabled; an explicit start still does, and what runs keeps running. Persisted; a second disable keeps the first's
    /// time and author.
    /// </summary>
    public JobStatusSnapshot Disable(string job, string? by)
    {
        var jobClass = loop.Registry.Find(job);
        if (Goals.Disable(job, by ?? "supd", loop.Time.GetUtcNow()))
        {
            // A half-satisfied condition lets go of the events it latched: enabling starts from nothing.
            jobClass.StartOn?.Reset();
            loop.Log.LogDisabled(job, by ?? "supd");
        }
        return loop.Status.Job(jobClass);
    }

    public JobStatusSnapshot Enable(string job, string? by)
    {
        var jobClass = loop.Registry.Find(job);
        if (Goals.Enable(job)) loop.Log.LogEnabled(job, by ?? "supd");
        return loop.Status.Job(jobClass);
    }

    /// <summary>After each input: hands the goals to the store when anything changed (cheap; the store writes elsewhere).</summary>
    /// <param name="now">Save even in a burst (a re-exec: the next image reads the file).</param>
    public void SaveIfDirty(bool now = false)
    {
        if (_store is null || !Goals.Dirty) return;
        // The snapshot walks every instance: during a burst (a crash loop, a thousand starts) take it at the end of
        // the burst, when the queue is empty, or at most every SaveInterval, not after every input.
        if (!now && inputsWaiting() && loop.Time.GetElapsedTime(_savedAt) < SaveInterval) return;
        Goals.Dirty = false;
        _savedAt = loop.Time.GetTimestamp();
        var jobs = loop.Registry.Jobs;
        if (!loop.ShuttingDown) Goals.ForgetEndedStarts((job, name) => jobs.TryGetValue(job, out var c) && c.Instances.ContainsKey(name));
        var processes = Processes();
        var state = Goals.ToGoalState(_bootId, processes);
        if (Survivors is { } survivors) state = state with { Survivors = survivors(_bootId, pid => _startTimes.TryGetValue(pid, out var t) ? t : null) };
        _store.Save(state);
    }

    /// <summary>What the next supd adopts should this one die (<see cref="LoopHandover.Survivors"/>), saved with the goals.</summary>
    public Func<string, Func<int, ulong?>, Handover.HandoverState>? Survivors { get; set; }

    // Every live process with its start time (read once per pid), so the next supd can tell it from a recycled pid.
    private List<ProcessRecord> Processes()
    {
        var processes = new List<ProcessRecord>();
        var live = new HashSet<int>();
        foreach (var instance in loop.Registry.Jobs.Values.SelectMany(c => c.Instances.Values))
        {
            foreach (var (kind, pid) in instance.Pids)
            {
                live.Add(pid);
                if (!_startTimes.TryGetValue(pid, out var startTime))
                {
                    if (ProcStat.Read(pid) is not { } stat) continue;
                    _startTimes[pid] = startTime = stat.StartTime;
                }
                var group = kind == ProcessKind.Main && instance.MainProcessGroup > 0 ? instance.MainProcessGroup : pid;
                processes.Add(new ProcessRecord(instance.Class.Name, instance.Name, kind.Name(), pid, group, startTime,
                    (long)instance.Definition.KillTimeout.TotalMilliseconds));
            }
        }
        foreach (var pid in _startTimes.Keys.Where(p => !live.Contains(p)).ToList()) _startTimes.Remove(pid);
        return processes;
    }
}
