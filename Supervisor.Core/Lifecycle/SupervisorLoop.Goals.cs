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
    private readonly Dictionary<(string Job, string Instance), (string? By, DateTimeOffset? At)> _stoppedByHand = [];
    // Restored from the previous supd: stopped by hand, so the boot events pass them by.
    private readonly HashSet<(string Job, string Instance)> _heldThroughBoot = [];
    private readonly Dictionary<string, DisabledJob> _disabled = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Job, string Instance), IReadOnlyList<string>> _startedByHand = [];
    private readonly Dictionary<int, ulong> _startTimes = [];
    // Started by hand by a caller without admin: their variables stay untrusted across a restart of supd.
    private readonly HashSet<(string Job, string Instance)> _startedByUntrusted = [];
    private IGoalStore? _goalStore;
    private string _bootId = "";
    private bool _goalsDirty;
    private long _goalsSavedAt;
    private static readonly TimeSpan GoalSaveInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Bounds on what a state file may bring back (it is input like any other).</summary>
    internal const int MaxDisabledJobs = 100_000, MaxGoalText = 4096;

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
            _stoppedByHand[(goal.Job, goal.Instance)] = (Bounded(goal.By), goal.At);
            _heldThroughBoot.Add((goal.Job, goal.Instance));
            LogGoalRestored(DisplayName(goal.Job, goal.Instance), "stays stopped (stopped by hand): the boot events do not start it");
        }
        foreach (var disabled in state.Disabled.Take(MaxDisabledJobs))
        {
            // Kept even when the job is not loaded now: its file may be broken for the moment, or come back.
            if (disabled.Job.Length is 0 or > MaxGoalText || disabled.By is null) continue;
            _disabled[disabled.Job] = disabled with { By = Bounded(disabled.By)! };
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
                _startedByUntrusted.Add((goal.Job, goal.Instance));
            }
            _startedByHand[(goal.Job, goal.Instance)] = variables;
            var environment = ClassEnvironment(jobClass.Definition);
            environment.AddRange(variables);
            var instance = Select(jobClass, environment, goal.Instance, create: true)!;
            if (instance.Goal == JobGoal.Start) continue;
            LogGoalRestored(name, "starts again (started by hand)");
            instance.PendingStartVariables = new EnvironmentList(variables);
            if (goal.Untrusted) instance.PendingStartVariables.MarkAllUntrusted();
            ChangeGoal(instance, JobGoal.Start);
        }
        _goalsDirty = true;
    }

    private static string DisplayName(string job, string instance) => instance.Length == 0 ? job : $"{job} ({instance})";

    private static string? Bounded(string? text) => text is null || text.Length <= MaxGoalText ? text : text[..MaxGoalText];

    /// <summary>An operator's start (not one a job makes on itself from inside, which names its instance).</summary>
    private void StartedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        _stoppedByHand.Remove((instance.Class.Name, instance.Name));
        _heldThroughBoot.Remove((instance.Class.Name, instance.Name));
        _startedByHand[(instance.Class.Name, instance.Name)] = input.Environment.ToArray();
        if (input.Restricted is null) _startedByUntrusted.Remove((instance.Class.Name, instance.Name));
        else _startedByUntrusted.Add((instance.Class.Name, instance.Name));
        _goalsDirty = true;
    }

    /// <summary>An operator's stop; a job stopping itself (<c>stop; exit 0</c> in pre-start) is no operator's goal.</summary>
    private void StoppedByHand(JobInstance instance, JobCommandInput input)
    {
        if (input.Instance is not null) return;
        _startedByHand.Remove((instance.Class.Name, instance.Name));
        _stoppedByHand[(instance.Class.Name, instance.Name)] = (input.By, _time.GetUtcNow());
        _goalsDirty = true;
    }

    /// <summary>
    /// Whether an event-driven start of this instance is held back: the instance was stopped by hand before supd
    /// restarted and every event that satisfied its condition belongs to the boot. Otherwise the start goes ahead
    /// and supersedes a stop by hand (Upstart's rule), so the next restart of supd does not hold it either.
    /// </summary>
    private bool HeldThroughBoot(JobClass jobClass, string name, EventMatcher startOn)
    {
        if (_stoppedByHand.Count == 0) return false;
        var key = (jobClass.Name, name);
        if (_heldThroughBoot.Contains(key) && startOn.MatchedEvents().All(e => e.Boot))
        {
            LogHeldStopped(DisplayName(jobClass.Name, name));
            return true;
        }
        if (_stoppedByHand.Remove(key)) _goalsDirty = true;
        _heldThroughBoot.Remove(key);
        return false;
    }

    private bool IsDisabled(JobClass jobClass) => _disabled.Count > 0 && _disabled.ContainsKey(jobClass.Name);

    /// <summary>
    /// <c>supctl disable JOB</c> (Upstart's <c>manual</c>, <c>systemctl disable</c>): no event starts the job until it is
    /// enabled; an explicit start still does, and what runs keeps running. Persisted; a second disable keeps the first's
    /// time and author.
    /// </summary>
    private JobStatusSnapshot Disable(string job, string? by)
    {
        var jobClass = FindClass(job);
        if (!_disabled.ContainsKey(job))
        {
            _disabled[job] = new DisabledJob(job, by ?? "supd", _time.GetUtcNow());
            // A half-satisfied condition lets go of the events it latched: enabling starts from nothing.
            jobClass.StartOn?.Reset();
            _goalsDirty = true;
            LogDisabled(job, by ?? "supd");
        }
        return JobSnapshot(jobClass);
    }

    private JobStatusSnapshot Enable(string job, string? by)
    {
        var jobClass = FindClass(job);
        if (_disabled.Remove(job))
        {
            _goalsDirty = true;
            LogEnabled(job, by ?? "supd");
        }
        return JobSnapshot(jobClass);
    }

    /// <summary>The job as <c>status JOB</c> shows a job without instance variables (the class, for an instance job).</summary>
    private JobStatusSnapshot JobSnapshot(JobClass jobClass) =>
        jobClass.Definition.Instance.Length == 0 && jobClass.Instances.TryGetValue("", out var instance)
            ? Snapshot(instance)
            : ClassSnapshot(jobClass);

    /// <summary>After each input: hands the goals to the store when anything changed (cheap; the store writes elsewhere).</summary>
    private void SaveGoalsIfDirty()
    {
        if (_goalStore is null || !_goalsDirty) return;
        // The snapshot walks every instance: during a burst (a crash loop, a thousand starts) take it at the end of
        // the burst, when the queue is empty, or at most every GoalSaveInterval, not after every input.
        if (_inputs.Reader.TryPeek(out _) && _time.GetElapsedTime(_goalsSavedAt) < GoalSaveInterval) return;
        _goalsDirty = false;
        _goalsSavedAt = _time.GetTimestamp();
        if (!IsShuttingDown)
        {
            // A start by hand lasts while its instance does: a task that finished, or a job that failed or was
            // removed, is not started again. A shutdown keeps them all (they start again next time).
            foreach (var key in _startedByHand.Keys.Where(k => !_jobs.TryGetValue(k.Job, out var c) || !c.Instances.ContainsKey(k.Instance)).ToList())
                _startedByHand.Remove(key);
            _startedByUntrusted.RemoveWhere(key => !_startedByHand.ContainsKey(key));
        }
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
        _goalStore.Save(new GoalState
        {
            BootId = _bootId,
            StoppedByHand = _stoppedByHand.OrderBy(k => k.Key.Job, StringComparer.Ordinal).ThenBy(k => k.Key.Instance, StringComparer.Ordinal)
                .Select(k => new InstanceGoal(k.Key.Job, k.Key.Instance, []) { By = k.Value.By, At = k.Value.At }).ToList(),
            StartedByHand = _startedByHand.OrderBy(k => k.Key.Job, StringComparer.Ordinal).ThenBy(k => k.Key.Instance, StringComparer.Ordinal)
                .Select(k => new InstanceGoal(k.Key.Job, k.Key.Instance, k.Value, _startedByUntrusted.Contains(k.Key))).ToList(),
            Processes = processes,
            Disabled = _disabled.Values.OrderBy(d => d.Job, StringComparer.Ordinal).ToList(),
        });
    }
}
