using Supervisor.Core.Lifecycle;

namespace Supervisor.Core.Events;

/// <summary>
/// One emitted event as the loop tracks it (spec §8). It goes Pending → Handling → Finished: once handled (matched
/// against every job) it stays Handling while anything blocks it, a job whose condition it satisfied (until that job
/// reaches its rest state), a half-satisfied condition that latched it, or the job that emitted it (for
/// <c>starting</c>/<c>stopping</c>). Owned by the supervisor loop; never touched from another thread.
/// </summary>
public sealed class Event
{
    private int _blockers;

    public Event(long id, string name, EnvironmentList environment)
    {
        Id = id;
        Name = name;
        Environment = environment;
    }

    public long Id { get; }
    public string Name { get; }
    public EnvironmentList Environment { get; }
    public EventProgress Progress { get; internal set; } = EventProgress.Pending;

    /// <summary>
    /// One of the events supd emits at boot (startup, the boot events), or a job event of an instance they started,
    /// emitted while they ran. Such events do not start an instance stopped by hand before supd restarted.
    /// </summary>
    public bool Boot { get; init; }

    /// <summary>Set when a job that held this event failed; a finished failed event emits <c>NAME/failed</c>.</summary>
    public bool Failed { get; internal set; }

    public int Blockers => _blockers;

    /// <summary>Why it failed: each job that failed while holding it, and how (shown by <c>supctl emit</c>).</summary>
    internal List<FailureExplanation> Failures { get; } = [];

    /// <summary>Callbacks run on the loop when the event finishes (emit waiters, the job blocked on starting/stopping).</summary>
    internal List<Action<Event>> OnFinished { get; } = [];

    /// <summary>The queue that handles it, told when its blockers reach or leave 0 (set while it is Handling).</summary>
    internal EventQueue? Queue { get; set; }

    internal void Block()
    {
        if (_blockers++ == 0) Queue?.Blocked(this);
    }

    internal void Unblock()
    {
        if (_blockers == 0) throw new InvalidOperationException($"Event {Name} unblocked more often than blocked");
        if (--_blockers == 0) Queue?.Unblocked(this);
    }

    /// <summary>"runlevel RUNLEVEL=2 PREVLEVEL=N".</summary>
    public override string ToString() =>
        Environment.Count == 0 ? Name : Name + " " + string.Join(' ', Environment.ToStrings());
}

public enum EventProgress { Pending, Handling, Finished }
