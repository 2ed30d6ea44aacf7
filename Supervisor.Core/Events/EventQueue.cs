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
            if (_resumeFinishing)
            {
                _resumeFinishing = false;
                progress |= FinishUnblocked(yieldNow);
                if (_resumeFinishing) return true;
            }
            while (_pending.TryDequeue(out var e))
            {
                e.Progress = EventProgress.Handling;
                handle(e);
                _handling.Add(e);
                progress = true;
                if (yieldNow?.Invoke() == true) return true;
            }
            progress |= FinishUnblocked(yieldNow);
            if (_resumeFinishing) return true;
        }
        while (progress);
        return false;
    }

    // A finishing pass that stopped early (yieldNow): the next poll finishes the rest before handling anything new.
    private bool _resumeFinishing;

    // One pass that keeps the order of the events still blocked (no removal from the middle of a list per event).
    private bool FinishUnblocked(Func<bool>? yieldNow)
    {
        var finished = false;
        var handling = _handling;
        _handling = _stillBlocked;
        for (var i = 0; i < handling.Count; i++)
        {
            var e = handling[i];
            if (e.Blockers > 0)
            {
                _handling.Add(e);
                continue;
            }
            Finish(e);
            finished = true;
            if (i + 1 < handling.Count && yieldNow?.Invoke() == true)
            {
                for (var rest = i + 1; rest < handling.Count; rest++) _handling.Add(handling[rest]);
                _resumeFinishing = true;
                break;
            }
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
