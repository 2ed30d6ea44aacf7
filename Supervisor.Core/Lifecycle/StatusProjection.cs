using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// What the control API sees of jobs: <see cref="JobStatusSnapshot"/>s built from the loop's instances and classes,
/// the goals set by hand (why a job is stopped, whether it is disabled) and the logs. Pure reads, on the loop.
/// </summary>
internal sealed class StatusProjection(JobLogDirectory? logs, GoalRecord goals, TimeProvider time)
{
    /// <summary>A job with no instance: what its last instance left behind, or why it is stopped.</summary>
    public JobStatusSnapshot Class(JobClass jobClass) => new()
    {
        Job = jobClass.Name,
        Description = jobClass.Definition.Description,
        SourcePath = jobClass.Definition.SourcePath,
        LogPath = logs?.PathFor(jobClass.Name, "") ?? "",
        LastExit = jobClass.LastExit,
        Failure = jobClass.LastFailure,
        Usage = jobClass.Definition.Usage,
        Since = jobClass.StoppedSince,
        LogBytesDropped = logs?.Dropped(jobClass.Name, "") ?? 0,
        LogBytesWritten = logs?.Written(jobClass.Name, "") ?? 0,
        StopReason = ClassStopReason(jobClass),
        Disabled = goals.Disabled(jobClass.Name),
    };

    // A stop in this run says why; otherwise a stop by hand from before supd restarted; otherwise nothing has run.
    private string ClassStopReason(JobClass jobClass)
    {
        if (jobClass.LastStop is { } stop) return stop;
        if (goals.StoppedBy(jobClass.Name, "") is { } byHand)
        {
            var at = byHand.At is { } t ? $" at {t:yyyy-MM-dd HH:mm:ss} UTC" : "";
            return $"by hand, by {byHand.By ?? "an operator"}{at}, before supd restarted";
        }
        return "never started";
    }

    /// <summary>A live instance; its processes in initctl's order.</summary>
    public JobStatusSnapshot Instance(JobInstance instance) => new()
    {
        Job = instance.Class.Name,
        Instance = instance.Name,
        Goal = instance.Goal,
        State = instance.State,
        Processes = ProcessKinds.All
            .Where(info => instance.Pids.ContainsKey(info.Kind))
            .Select(info => (info.Kind, instance.Pids[info.Kind]))
            .ToArray(),
        Description = instance.Definition.Description,
        SourcePath = instance.Definition.SourcePath,
        RespawnCount = instance.Respawn.Count,
        LastExit = instance.LastExit,
        Failure = instance.Failure?.Reason,
        MainStarted = instance.MainAlive ? instance.MainStarted : null,
        AdoptedAt = instance.MainAlive ? instance.AdoptedAt : null,
        LogPath = instance.Log?.Path ?? "",
        LogBytesDropped = instance.Log?.BytesDropped ?? 0,
        LogBytesWritten = instance.Log?.BytesWritten ?? 0,
        Usage = instance.Definition.Usage,
        ExpectProblem = instance.ExpectProblem,
        NotApplied = instance.NotApplied.ToArray(),
        Since = instance.StateSince,
        ChangedOnDisk = instance.ChangedOnDisk,
        NextRespawn = TimeToRespawn(instance),
        StopReason = instance.Goal == JobGoal.Stop ? instance.StopCause ?? (instance.Failed ? $"failed: {instance.Failure?.Reason}" : null) : null,
        Disabled = goals.Disabled(instance.Class.Name),
        Health = Health(instance),
    };

    private static HealthSnapshot? Health(JobInstance instance)
    {
        if (instance.Definition.Health is null) return null;
        var health = instance.Health;
        var last = health.Last;
        return new HealthSnapshot(health.Status, health.Unhealthy, health.Failures,
            last?.At, last?.Passed ?? false, last?.Outcome, last?.Output?.Lines() ?? []);
    }

    /// <summary>The instance if it is still its class's, else the class it has left (a reply once a request settled).</summary>
    public JobStatusSnapshot Current(JobInstance instance) =>
        instance.Class.Instances.TryGetValue(instance.Name, out var live) && ReferenceEquals(live, instance)
            ? Instance(instance)
            : Class(instance.Class);

    /// <summary>The job as <c>status JOB</c> shows a job without instance variables (the class, for an instance job).</summary>
    public JobStatusSnapshot Job(JobClass jobClass) =>
        jobClass.Definition.Instance.Length == 0 && jobClass.Instances.TryGetValue("", out var instance)
            ? Instance(instance)
            : Class(jobClass);

    /// <summary>How long until the respawn while an instance waits in respawning; null otherwise.</summary>
    public TimeSpan? TimeToRespawn(JobInstance instance)
    {
        if (instance.State != JobState.Respawning) return null;
        var left = (instance.Deadline.At ?? time.GetUtcNow()) - time.GetUtcNow();
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}
