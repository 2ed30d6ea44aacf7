using Supervisor.Core.Events;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

// Goals that survive a restart: what an operator did by hand, and the processes supd runs (Core/State).
//
// A stop by hand is not a ban (Upstart's rule): within a run, the next event that satisfies `start on` starts the job
// again. Across a restart of supd it is remembered: the new supd's boot events (startup and BootEvents, and the job
// events of what they start while they run) do not start it; events after them act as usual. The ban is `disable`.
public sealed partial class SupervisorLoop
{
    private readonly GoalRecord _goals = new();
    private readonly Dictionary<int, ulong> _startTimes = [];
    private IGoalStore? _goalStore;
    private string _bootId = "";
    private long _goalsSavedAt;
    private static readonly TimeSpan GoalSaveInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Applies goals saved by an earlier supd, before the boot events: instances stopped by hand are not started by
    /// the boot events (later events start them as usual); instances started by hand start again with their
    /// variables; disabled jobs stay disabled. From then on every change is handed to <paramref name="store"/>.
    /// </summary>
    public Task RestoreGoalsAsync(GoalState state, IGoalStore store, string bootId) =>
        Ask(r => new RestoreGoalsInput(state, store, bootId, r));

    private void RestoreGoals(GoalState state, IGoalStore store, string bootId)
    {
        _goalStore = store;
        _bootId = bootId;
        foreach (var goal in state.StoppedByHand)
        {
            _goals.RestoreStop(goal);
            LogGoalRestored(DisplayName(goal.Job, goal.Instance), "stays stopped (stopped by hand): the boot events do not start it");
        }
        foreach (var disabled in state.Disabled.Take(GoalRecord.MaxDisabledJobs))
        {
            // Kept even when the job is not loaded now: its file may be broken for the moment, or come back.
            if (!_goals.RestoreDisabled(disabled)) continue;
            LogGoalRestored(disabled.Job, $"stays disabled (by {disabled.By}): events do not start it");
        }
        foreach (var goal in state.StartedByHand)
        {
            var name = DisplayName(goal.Job, goal.Instance);
            if (!_jobs.TryGetValue(goal.Job, out var jobClass) || !EnvironmentList.AreAssignments(goal.Variables))
            {
                LogGoalRestored(name, "was started by hand but its job no longer exists; forgotten");
                continue;
            }
            var variables = goal.Variables;
            if (goal.Untrusted)
            {
                // The job may have changed since: keep only what it accepts from such a caller now.
                variables = variables.Where(v => Access.VariablePolicy.Refusal(jobClass.Definition, EnvironmentList.Split(v).Key,
                    _options.JobEnvironment.Select(e => e.Key)) is null).ToArray();
            }
            _goals.RestoreStart(goal.Job, goal.Instance, variables, goal.Untrusted);
            var environment = ClassEnvironment(jobClass.Definition);
            environment.AddRange(variables);
            var instance = Select(jobClass, environment, goal.Instance, create: true)!;
            if (instance.Goal == JobGoal.Start) continue;
            LogGoalRestored(name, "starts again (started by hand)");
            instance.PendingStartVariables = new EnvironmentList(variables);
            if (goal.Untrusted) instance.PendingStartVariables.MarkAllUntrusted();
            ChangeGoal(instance, JobGoal.Start);
        }
        _goals.Dirty = true;
    }

    private static string DisplayName(string job, string instance) => instance.Length == 0 ? job : $"{job} ({instance})";

    /// <summary>An operator's start (not one a job makes on itself from inside, which names its instance).</summary>
    private void StartedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        _goals.StartedByHand(instance.Class.Name, instance.Name, input.Environment.ToArray(), untrusted: input.Restricted is not null);
    }

    /// <summary>An operator's stop; a job stopping itself (<c>stop; exit 0</c> in pre-start) is no operator's goal.</summary>
    private void StoppedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        _goals.StoppedByHand(instance.Class.Name, instance.Name, input.By, _time.GetUtcNow());
    }

    /// <summary>An event-driven start held back by a stop by hand from before supd restarted (see <see cref="GoalRecord.HoldsThroughBoot"/>).</summary>
    private bool HeldThroughBoot(JobClass jobClass, string name, EventMatcher startOn)
    {
        if (!_goals.HoldsThroughBoot(jobClass.Name, name, () => startOn.MatchedEvents().All(e => e.Boot))) return false;
        LogHeldStopped(DisplayName(jobClass.Name, name));
        return true;
    }

    private bool IsDisabled(JobClass jobClass) => _goals.IsDisabled(jobClass.Name);

    /// <summary>
    /// <c>supctl disable JOB</c> (Upstart's <c>manual</c>, <c>systemctl disable</c>): no event starts the job until it is
    /// enabled; an explicit start still does, and what runs keeps running. Persisted; a second disable keeps the first's
    /// time and author.
    /// </summary>
    private JobStatusSnapshot Disable(string job, string? by)
    {
        var jobClass = FindClass(job);
        if (_goals.Disable(job, by ?? "supd", _time.GetUtcNow()))
        {
            // A half-satisfied condition lets go of the events it latched: enabling starts from nothing.
            jobClass.StartOn?.Reset();
            LogDisabled(job, by ?? "supd");
        }
        return _status.Job(jobClass);
    }

    private JobStatusSnapshot Enable(string job, string? by)
    {
        var jobClass = FindClass(job);
        if (_goals.Enable(job))
        {
            LogEnabled(job, by ?? "supd");
        }
        return _status.Job(jobClass);
    }

    /// <summary>After each input: hands the goals to the store when anything changed (cheap; the store writes elsewhere).</summary>
    private void SaveGoalsIfDirty()
    {
        if (_goalStore is null || !_goals.Dirty) return;
        // The snapshot walks every instance: during a burst (a crash loop, a thousand starts) take it at the end of
        // the burst, when the queue is empty, or at most every GoalSaveInterval, not after every input.
        if (_inputs.Reader.TryPeek(out _) && _time.GetElapsedTime(_goalsSavedAt) < GoalSaveInterval) return;
        _goals.Dirty = false;
        _goalsSavedAt = _time.GetTimestamp();
        if (!IsShuttingDown) _goals.ForgetEndedStarts((job, name) => _jobs.TryGetValue(job, out var c) && c.Instances.ContainsKey(name));
        var processes = new List<ProcessRecord>();
        var live = new HashSet<int>();
        foreach (var instance in _jobs.Values.SelectMany(c => c.Instances.Values))
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
        _goalStore.Save(_goals.ToGoalState(_bootId, processes));
    }
}
