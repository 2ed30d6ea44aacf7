using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Lifecycle;

// supd's respawn delay (back-off): after a crash's post-stop the instance waits in "respawning" before it starts
// again. The delay starts at MIN, doubles with each crash (plus up to 20% jitter) up to MAX, and goes back to MIN once
// the main process has stayed up for MAX seconds. The timer is the loop's TimeProvider, so tests drive it.
public sealed partial class SupervisorLoop
{
    /// <summary>Share of the delay added at random, so jobs that crashed together do not all come back together.</summary>
    private const double RespawnJitter = 0.2;

    /// <summary>The delay before the coming respawn, or null for Upstart's immediate one (no delay set).</summary>
    private TimeSpan? NextRespawnDelay(JobInstance instance)
    {
        if ((instance.Definition.RespawnDelay ?? _options.RespawnDelay) is not { } delay) return null;
        // A run that lasted as long as the longest delay was stable: the crash that ended it starts over at MIN.
        if (instance.MainStarted is { } started && _time.GetUtcNow() - started >= TimeSpan.FromSeconds(delay.MaxSeconds))
            instance.BackoffAttempt = 0;
        var seconds = Math.Min(delay.MaxSeconds, delay.MinSeconds * Math.Pow(2, instance.BackoffAttempt));
        seconds = Math.Min(delay.MaxSeconds, seconds * (1 + RespawnJitter * _options.Random.NextDouble()));
        if (seconds < delay.MaxSeconds) instance.BackoffAttempt++;
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Entering respawning: the deadline is the end of the delay the crash decided on.</summary>
    private void ArmRespawnDelay(JobInstance instance)
    {
        var delay = instance.RespawnDelayDue ?? TimeSpan.Zero;
        instance.RespawnDelayDue = null;
        instance.Deadline.Arm(_time, delay, DeadlineFor(instance));
    }

    /// <summary>How long until the respawn while an instance waits in respawning; null otherwise.</summary>
    private TimeSpan? TimeToRespawn(JobInstance instance)
    {
        if (instance.State != JobState.Respawning) return null;
        var left = (instance.Deadline.At ?? _time.GetUtcNow()) - _time.GetUtcNow();
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "{Job} main process ended, respawning in {Delay:0.0}s")]
    private partial void LogRespawningAfter(string job, double delay);

    [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "{Job} respawn delay cut short by start")]
    private partial void LogRespawnCutShort(string job);

    [LoggerMessage(EventId = 431, Level = LogLevel.Warning, Message = "{Job} main process could not be spawned ({Error}); trying again in {Delay}s under its respawn rules")]
    private partial void LogSpawnRetry(string job, string error, double delay);
}
