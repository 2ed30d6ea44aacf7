using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>What an instance's respawns have been so far: read and updated only by <see cref="RespawnPolicy"/> and the loop.</summary>
internal sealed class RespawnTally
{
    /// <summary>Respawns of this instance (status shows it).</summary>
    public int Count { get; set; }

    // Runaway detection (spec §7): a fixed window, as Upstart's: when it began and the respawns in it.
    public long WindowStart { get; set; }
    public int WindowCount { get; set; }

    /// <summary>Delayed respawns in a row (back to 0 after a stable run).</summary>
    public int BackoffAttempt { get; set; }

    /// <summary>The delay the coming post-stop waits out in respawning; set when a crash decides on a delayed respawn.</summary>
    public TimeSpan? DelayDue { get; set; }
}

/// <summary>
/// Respawn and back-off, as pure decisions over a <see cref="RespawnTally"/>: Upstart's <c>respawn limit COUNT
/// INTERVAL</c> (a fixed window: COUNT respawns within INTERVAL seconds of the window's first) and supd's
/// <c>respawn delay MIN [MAX]</c> (MIN doubling with each crash, plus up to <see cref="Jitter"/>, up to MAX; back to
/// MIN once the main process stayed up MAX seconds). Time and randomness come from the caller, so tests step them;
/// <see cref="SupervisorOptions.RespawnDelay"/> is the delay of jobs without their own.
/// </summary>
internal sealed class RespawnPolicy(TimeProvider time, SupervisorOptions options)
{
    /// <summary>Share of the delay added at random, so jobs that crashed together do not all come back together.</summary>
    public const double Jitter = 0.2;

    /// <summary>Counts one more respawn in the window; true when it is one too many (the job is then stopped).</summary>
    public bool TooFast(RespawnLimit limit, RespawnTally tally)
    {
        if (limit.IsUnlimited) return false;
        var now = time.GetTimestamp();
        if (tally.WindowCount > 0 && time.GetElapsedTime(tally.WindowStart, now).TotalSeconds < limit.IntervalSeconds)
        {
            tally.WindowCount++;
            return tally.WindowCount > limit.Count;
        }
        tally.WindowStart = now;
        tally.WindowCount = 1;
        return false;
    }

    /// <summary>The delay before the coming respawn (and one more attempt counted), or null for Upstart's immediate one.</summary>
    /// <param name="mainStarted">When the main process that just ended started: a run as long as MAX resets the back-off.</param>
    public TimeSpan? NextDelay(RespawnDelay? jobDelay, RespawnTally tally, DateTimeOffset? mainStarted)
    {
        if ((jobDelay ?? options.RespawnDelay) is not { } delay) return null;
        if (mainStarted is { } started && time.GetUtcNow() - started >= TimeSpan.FromSeconds(delay.MaxSeconds))
            tally.BackoffAttempt = 0;
        var seconds = Math.Min(delay.MaxSeconds, delay.MinSeconds * Math.Pow(2, tally.BackoffAttempt));
        seconds = Math.Min(delay.MaxSeconds, seconds * (1 + Jitter * options.Random.NextDouble()));
        if (seconds < delay.MaxSeconds) tally.BackoffAttempt++;
        return TimeSpan.FromSeconds(seconds);
    }
}
