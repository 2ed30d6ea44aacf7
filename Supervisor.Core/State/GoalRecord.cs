namespace Supervisor.Core.State;

/// <summary>
/// What an operator asked of jobs by hand, as the loop learns it: instances stopped and started by hand (and who
/// stopped them), the stops restored from the previous supd that the boot events pass by, and disabled jobs. The
/// loop's request handlers and its event path feed it (never the lifecycle's states); <see cref="ToGoalState"/> is
/// what <see cref="GoalStore"/> writes. Owned by the supervision loop: not thread-safe.
/// </summary>
internal sealed class GoalRecord
{
    private readonly Dictionary<(string Job, string Instance), (string? By, DateTimeOffset? At)> _stoppedByHand = [];
    // Restored from the previous supd: stopped by hand, so the boot events pass them by.
    private readonly HashSet<(string Job, string Instance)> _heldThroughBoot = [];
    private readonly Dictionary<string, DisabledJob> _disabled = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Job, string Instance), IReadOnlyList<string>> _startedByHand = [];
    // Started by hand by a caller without admin: their variables stay untrusted across a restart of supd.
    private readonly HashSet<(string Job, string Instance)> _startedByUntrusted = [];

    /// <summary>Bounds on what a state file may bring back (it is input like any other).</summary>
    internal const int MaxDisabledJobs = 100_000, MaxGoalText = 4096;

    /// <summary>Something changed since the goals were last handed to the store.</summary>
    public bool Dirty { get; set; }

    /// <summary>A restored stop by hand: the boot events do not start the instance.</summary>
    public void RestoreStop(InstanceGoal goal)
    {
        _stoppedByHand[(goal.Job, goal.Instance)] = (Bounded(goal.By), goal.At);
        _heldThroughBoot.Add((goal.Job, goal.Instance));
        Dirty = true;
    }

    /// <summary>A restored disabled job (the caller takes at most <see cref="MaxDisabledJobs"/>); false (ignored) when the file's entry is not one.</summary>
    public bool RestoreDisabled(DisabledJob disabled)
    {
        if (disabled.Job.Length is 0 or > MaxGoalText || disabled.By is null) return false;
        _disabled[disabled.Job] = disabled with { By = Bounded(disabled.By)! };
        Dirty = true;
        return true;
    }

    /// <summary>A restored start by hand, with the variables the job still accepts.</summary>
    public void RestoreStart(string job, string instance, IReadOnlyList<string> variables, bool untrusted)
    {
        _startedByHand[(job, instance)] = variables;
        if (untrusted) _startedByUntrusted.Add((job, instance));
        Dirty = true;
    }

    /// <summary>An operator's start: it supersedes a stop by hand.</summary>
    public void StartedByHand(string job, string instance, IReadOnlyList<string> variables, bool untrusted)
    {
        _stoppedByHand.Remove((job, instance));
        _heldThroughBoot.Remove((job, instance));
        _startedByHand[(job, instance)] = variables;
        if (untrusted) _startedByUntrusted.Add((job, instance));
        else _startedByUntrusted.Remove((job, instance));
        Dirty = true;
    }

    /// <summary>An operator's restart: an instance started by hand starts again with the new variables.</summary>
    public void RestartedByHand(string job, string instance, IReadOnlyList<string> variables)
    {
        if (!_startedByHand.ContainsKey((job, instance))) return;
        _startedByHand[(job, instance)] = variables;
        Dirty = true;
    }

    /// <summary>An operator's stop.</summary>
    public void StoppedByHand(string job, string instance, string? by, DateTimeOffset at)
    {
        _startedByHand.Remove((job, instance));
        _stoppedByHand[(job, instance)] = (by, at);
        Dirty = true;
    }

    /// <summary>Who stopped an instance by hand and when, if it was and no start superseded it.</summary>
    public (string? By, DateTimeOffset? At)? StoppedBy(string job, string instance) =>
        _stoppedByHand.TryGetValue((job, instance), out var byHand) ? byHand : null;

    /// <summary>
    /// Whether an event-driven start is held back: the instance was stopped by hand before supd restarted and every
    /// event that satisfied its condition belongs to the boot (<paramref name="allBoot"/>). Otherwise the start goes
    /// ahead and supersedes a stop by hand (Upstart's rule), so the next restart of supd does not hold it either.
    /// </summary>
    public bool HoldsThroughBoot(string job, string instance, Func<bool> allBoot)
    {
        if (_stoppedByHand.Count == 0) return false;
        var key = (job, instance);
        if (_heldThroughBoot.Contains(key) && allBoot()) return true;
        if (_stoppedByHand.Remove(key)) Dirty = true;
        _heldThroughBoot.Remove(key);
        return false;
    }

    public bool IsDisabled(string job) => _disabled.Count > 0 && _disabled.ContainsKey(job);

    public DisabledJob? Disabled(string job) => _disabled.GetValueOrDefault(job);

    /// <summary>Disables a job; false when it was already (the first disable keeps its author and time).</summary>
    public bool Disable(string job, string by, DateTimeOffset at)
    {
        if (_disabled.ContainsKey(job)) return false;
        _disabled[job] = new DisabledJob(job, by, at);
        Dirty = true;
        return true;
    }

    public bool Enable(string job)
    {
        if (!_disabled.Remove(job)) return false;
        Dirty = true;
        return true;
    }

    /// <summary>
    /// A start by hand lasts while its instance does: a task that finished, or a job that failed or was removed, is
    /// not started again. (A shutdown keeps them all: they start again next time.)
    /// </summary>
    public void ForgetEndedStarts(Func<string, string, bool> live)
    {
        foreach (var key in _startedByHand.Keys.Where(k => !live(k.Job, k.Instance)).ToList()) _startedByHand.Remove(key);
        _startedByUntrusted.RemoveWhere(key => !_startedByHand.ContainsKey(key));
    }

    /// <summary>The goals as the state file holds them, in a stable order.</summary>
    public GoalState ToGoalState(string bootId, IReadOnlyList<ProcessRecord> processes) => new()
    {
        BootId = bootId,
        StoppedByHand = _stoppedByHand.OrderBy(k => k.Key.Job, StringComparer.Ordinal).ThenBy(k => k.Key.Instance, StringComparer.Ordinal)
            .Select(k => new InstanceGoal(k.Key.Job, k.Key.Instance, []) { By = k.Value.By, At = k.Value.At }).ToList(),
        StartedByHand = _startedByHand.OrderBy(k => k.Key.Job, StringComparer.Ordinal).ThenBy(k => k.Key.Instance, StringComparer.Ordinal)
            .Select(k => new InstanceGoal(k.Key.Job, k.Key.Instance, k.Value, _startedByUntrusted.Contains(k.Key))).ToList(),
        Processes = processes,
        Disabled = _disabled.Values.OrderBy(d => d.Job, StringComparer.Ordinal).ToList(),
    };

    private static string? Bounded(string? text) => text is null || text.Length <= MaxGoalText ? text : text[..MaxGoalText];
}
