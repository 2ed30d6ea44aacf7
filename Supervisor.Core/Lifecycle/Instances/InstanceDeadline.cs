namespace Supervisor.Core.Lifecycle;

/// <summary>
/// An instance's one deadline (s6-supervise's single deadline): at most one <see cref="TimeProvider"/> timer per
/// instance, armed by the state the instance enters and disarmed by every change of state. What reaching it means
/// (SIGKILL after kill timeout, an expect poll, the end of a respawn delay or of a start grace) is decided by the
/// instance's state when it fires (<see cref="InstanceMachine"/>), never by the timer. A timer that fired before it
/// was disarmed posts an older generation and is ignored.
/// </summary>
internal sealed class InstanceDeadline
{
    private ITimer? _timer;
    private bool _periodic;

    /// <summary>Bumped by every arm and disarm; the fired input carries the generation it was armed with.</summary>
    public long Generation { get; private set; }

    /// <summary>When the (first) expiry is due; null while disarmed.</summary>
    public DateTimeOffset? At { get; private set; }

    /// <summary>Arms the deadline <paramref name="due"/> from now (then every <paramref name="period"/> when one is given).</summary>
    public void Arm(TimeProvider time, TimeSpan due, Action<long> fired, TimeSpan? period = null)
    {
        Disarm();
        var generation = Generation;
        At = time.GetUtcNow() + due;
        _periodic = period is not null;
        _timer = time.CreateTimer(_ => fired(generation), null, due, period ?? Timeout.InfiniteTimeSpan);
    }

    public void Disarm()
    {
        Generation++;
        _timer?.Dispose();
        _timer = null;
        At = null;
    }

    /// <summary>
    /// On the loop, as a fired input arrives: true when it is the armed deadline's (a one-shot deadline is spent by
    /// it); false for a stale one.
    /// </summary>
    public bool Reached(long generation)
    {
        if (generation != Generation || _timer is null) return false;
        if (!_periodic)
        {
            _timer.Dispose();
            _timer = null;
            // At stays: a deadline that was reached is still the time the state waited for.
        }
        return true;
    }
}
