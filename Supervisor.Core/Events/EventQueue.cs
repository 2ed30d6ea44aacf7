namespace Supervisor.Core.Events;

/// <summary>
/// The events emitted and not yet finished, and Upstart's event_poll over them (spec §8): pending events are handed to
/// the jobs one at a time in order, then wait (handling) until nothing blocks them, then finish: their callbacks run,
/// and a failed one emits <c>NAME/failed</c>. Knows nothing of jobs: what handling an event means is the caller's.
/// On the loop thread only.
/// </summary>
internal sealed class EventQueue(Action<Event> emitted)
{
    private readonly Queue<Event> _pending = new();
    private List<Event> _handling = [];
    private List<Event> _stillBlocked = [];
    private long _nextId;

    /// <summary>Emitted and not finished (bounded by <see cref="Limits.MaxEventsInFlight"/> for emits from outside).</summary>
    public int InFlight => _pending.Count + _handling.Count;

    /// <summary>Queues an event; <paramref name="emitted"/> (the log line and the notification) hears of it at once.</summary>
    public Event Emit(string name, EnvironmentList environment, bool boot = false)
    {
        var e = new Event(++_nextId, name, environment) { Boot = boot };
        _pending.Enqueue(e);
        emitted(e);
        return e;
    }

    /// <summary>Handles pending events and finishes unblocked ones until nothing changes.</summary>
    public void Poll(Action<Event> handle)
    {
        bool progress;
        do
        {
            progress = false;
            while (_pending.TryDequeue(out var e))
            {
                e.Progress = EventProgress.Handling;
                handle(e);
                _handling.Add(e);
                progress = true;
            }
            progress |= FinishUnblocked();
        }
        while (progress);
    }

    // One pass that keeps the order of the events still blocked (no removal from the middle of a list per event).
    private bool FinishUnblocked()
    {
        var finished = false;
        var handling = _handling;
        _handling = _stillBlocked;
        foreach (var e in handling)
        {
            if (e.Blockers > 0)
            {
                _handling.Add(e);
                continue;
            }
            Finish(e);
            finished = true;
        }
        handling.Clear();
        _stillBlocked = handling;
        return finished;
    }

    private void Finish(Event e)
    {
        e.Progress = EventProgress.Finished;
        foreach (var callback in e.OnFinished) callback(e);
        e.OnFinished.Clear();
        if (e.Failed && !e.Name.EndsWith("/failed", StringComparison.Ordinal))
            Emit(e.Name + "/failed", e.Environment.Clone());
    }
}
