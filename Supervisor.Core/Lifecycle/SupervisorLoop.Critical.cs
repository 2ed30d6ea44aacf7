using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Lifecycle;

/// <summary>A job marked <c>critical</c> that failed for good, and why.</summary>
public sealed record CriticalJobFailure(string Job, string Instance, string Reason)
{
    public string DisplayName => Instance.Length == 0 ? Job : $"{Job} ({Instance})";
}

public sealed partial class SupervisorLoop
{
    private readonly TaskCompletionSource<CriticalJobFailure> _criticalFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when a job with the <c>critical</c> stanza fails for good: it came to rest (waiting) with a failure, be
    /// it a process failure that stopped it or its respawn limit. A respawn never rests, and a stop someone asked for
    /// is not a failure. The host acts on it (supd stops everything and exits non-zero); the loop only reports it,
    /// once, for the first such job.
    /// </summary>
    public Task<CriticalJobFailure> CriticalFailure => _criticalFailure.Task;

    // On the loop thread, as the instance enters waiting.
    private void CheckCritical(JobInstance instance)
    {
        if (!instance.Failed || !instance.Definition.Critical) return;
        var failure = new CriticalJobFailure(instance.Class.Name, instance.Name, instance.Failure?.Reason ?? "failed");
        if (_criticalFailure.TrySetResult(failure)) LogCriticalJobFailed(failure.DisplayName, failure.Reason);
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Critical, Message = "Critical job {Job} failed: {Reason}; supd is stopping every job and will exit non-zero")]
    private partial void LogCriticalJobFailed(string job, string reason);
}
