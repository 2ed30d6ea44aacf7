namespace Supervisor.Core.Lifecycle;

/// <summary>
/// What the loop announces as it happens: every emitted event and every job state change, numbered in one
/// sequence. Published on the loop thread; a subscriber must only copy it somewhere (a bounded queue), never block.
/// </summary>
public abstract record SupervisorNotification(long Sequence, DateTimeOffset Time);

public sealed record EventNotification(long Sequence, DateTimeOffset Time, string Name, IReadOnlyList<string> Environment)
    : SupervisorNotification(Sequence, Time)
{
    /// <summary>"stopped JOB=x INSTANCE= RESULT=ok".</summary>
    public override string ToString() => Environment.Count == 0 ? Name : $"{Name} {string.Join(' ', Environment)}";
}

public sealed record StateChangeNotification(
    long Sequence, DateTimeOffset Time, string Job, string Instance, JobGoal Goal, JobState From, JobState To)
    : SupervisorNotification(Sequence, Time)
{
    public override string ToString() =>
        $"{StatusLineFormat.DisplayName(Job, Instance)} {Goal.Name()}/{To.Name()} (from {From.Name()})";
}

/// <summary>
/// Not from the loop: told to one watcher whose queue overflowed, where the gap is. <paramref name="Sequence"/> is the
/// last missed item's; <paramref name="Count"/> items were missed.
/// </summary>
public sealed record DroppedNotification(long Sequence, DateTimeOffset Time, long Count)
    : SupervisorNotification(Sequence, Time)
{
    public override string ToString() => $"dropped {Count} items (this watcher fell behind)";
}
