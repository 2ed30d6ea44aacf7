namespace Supervisor.Core.Events;

/// <summary>
/// The events emitted and not yet finished, and Upstart's event_poll over them (spec §8): pending events are handed to
/// the jobs one at a time in order, then wait (handling) until nothing blocks them, then finish: their callbacks run,
/// and a failed one emits <c>NAME/failed</c>. Knows nothing of jobs: what handling an event means is the caller's.
/// On the loop thread only.
///
/// A poll may be cut into slices (<c>yieldNow</c>): it stops after the event it is at and says so, and the next poll
/// goes on where it stopped (the rest of a finishing pass first, as event_poll's one list would), so the loop can let
/// other inputs in during a long cascade without changing the order the events go in.
/// </summary>
internal sealed class EventQueue(Action<Event> emitted)
{
    private readonly Queue<Event> _pending = new();
    // Handling events nothing blocks now, by id (emission order): a finishing pass takes them from here instead of
    // walking every handling event, so ten thousand held events cost nothing per poll (they once made each poll walk
    // all of them: quadratic on the loop). Events tell the queue when their blockers reach or leave 0 (Event.Queue).
    private readonly SortedSet<Event> _ready = new(Comparer<Event>.Create(static (a, b) => a.Id.CompareTo(b.Id)));
    private int _handling;
    private long _nextId;

    // The finishing pass under way: the id it finished last (-1 when none is under way). Like event_poll's walk of
    // one list, a pass goes forward: an event unblocked behind it waits for the next pass.
    private long _passCursor = -1;

    /// <summary>Emitted and not finished (bounded by <see cref="Limits.MaxEventsInFlight"/> for emits from outside).</summary>
    public int InFlight => _pending.Count + _handling;

    /// <summary>Queues an event; <paramref name="emitted"/> (the log line and the notification) hears of it at once.</summary>
    public Event Emit(string name, EnvironmentList environment, bool boot = false)
    {
        var e = new Event(++_nextId, name, environment) { Boot = boot };
        _pending.Enqueue(e);
        emitted(e);
        return e;
    }

    /// <summary>
    /// Handles pending events and finishes unblocked ones until nothing changes; true when it stopped early because
    /// <paramref name="yieldNow"/> said so (checked after each event), with work left for the next poll.
    /// </summary>
    public bool Poll(Action<Event> handle, Func<bool>? yieldNow = null)
    {
        bool progress;
        do
        {
            progress = false;
            // A pass cut short goes on first: those events were emitted before anything pending now.
            if (_passCursor >= 0)
            {
                progress |= FinishUnblocked(yieldNow);
                if (_passCursor >= 0) return true;
            }
            while (_pending.TryDequeue(out var e))
            {
                e.Progress = EventProgress.Handling;
                handle(e);
                _handling++;
                e.Queue = this;
                if (e.Blockers == 0) _ready.Add(e);
                progress = true;
                if (yieldNow?.Invoke() == true) return true;
            }
            progress |= FinishUnblocked(yieldNow);
            if (_passCursor >= 0) return true;
        }
        while (progress);
        return false;
    }

    /// <summary>A handling event's last blocker let go (<see cref="Event.Unblock"/>).</summary>
    internal void Unblocked(Event e) => _ready.Add(e);

    /// <summary>A handling event that nothing blocked is blocked again (<see cref="Event.Block"/>).</summary>
    internal void Blocked(Event e) => _ready.Remove(e);

    // One forward pass over the unblocked events, in emission order; leaves _passCursor set when yieldNow cut it short.
    private bool FinishUnblocked(Func<bool>? yieldNow)
    {
        var finished = false;
        var cursor = Math.Max(_passCursor, 0);
        _passCursor = -1;
        while (NextReady(cursor) is { } e)
        {
            _ready.Remove(e);
            cursor = e.Id;
            Finish(e);
            finished = true;
            if (NextReady(cursor) is not null && yieldNow?.Invoke() == true)
            {
                _passCursor = cursor;
                break;
            }
        }
        return finished;
    }

    // The first unblocked event after the pass's cursor: O(log n) (the ready set is ordered by id).
    private Event? NextReady(long after)
    {
        if (_ready.Count == 0 || _ready.Max!.Id <= after) return null;
        if (_ready.Min!.Id > after) return _ready.Min;
        return _ready.GetViewBetween(new Event(after + 1, "", ProbeEnvironment), LastProbe).Min;
    }

    // Bounds for a view of the ready set (compared by id only).
    private static readonly EnvironmentList ProbeEnvironment = new();
    private static readonly Event LastProbe = new(long.MaxValue, "", ProbeEnvironment);

    private void Finish(Event e)
    {
        e.Progress = EventProgress.Finished;
        e.Queue = null;
        _handling--;
        foreach (var callback in e.OnFinished) callback(e);
        e.OnFinished.Clear();
        if (e.Failed && !e.Name.EndsWith("/failed", StringComparison.Ordinal))
            Emit(e.Name + "/failed", e.Environment.Clone());
    }
}
