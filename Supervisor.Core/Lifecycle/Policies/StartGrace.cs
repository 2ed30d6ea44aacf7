using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// supd's <c>start grace SECONDS</c> (supervisord's startsecs), as pure decisions. Upstart answers a start once the
/// service is running, even when its main process dies a moment later. With a grace period the instance still goes to
/// running at once (events and status as before), but the requests waiting on the start are answered only once the
/// main process has stayed up that long; if it ends sooner, the start has failed: the job stops (even with respawn)
/// and the waiters get "Job failed to start" with the process's last lines. No new state: the deadline of running.
/// </summary>
internal static class StartGrace
{
    /// <summary>As a service reaches running: how long its waiters must still wait, or null when they are answered now.</summary>
    public static TimeSpan? Remaining(JobDefinition definition, DateTimeOffset? mainStarted, DateTimeOffset now)
    {
        if (definition.StartGrace is not { } grace || definition.Main is null || mainStarted is not { } started) return null;
        var remaining = grace - (now - started);
        return remaining > TimeSpan.Zero ? remaining : null;
    }

    /// <summary>A main process that ended before its grace was over: why the start failed; null when it was not so.</summary>
    public static string? FailedWithin(JobDefinition definition, DateTimeOffset? mainStarted, DateTimeOffset now, ExitStatus status)
    {
        if (definition.StartGrace is not { } grace || mainStarted is not { } started) return null;
        var up = now - started;
        if (up >= grace) return null;
        return FormattableString.Invariant(
            $"main process {status} after {up.TotalSeconds:0.0}s, within its start grace of {grace.TotalSeconds:0.###}s");
    }
}
