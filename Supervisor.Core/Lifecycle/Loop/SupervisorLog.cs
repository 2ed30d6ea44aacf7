using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// supd's own log lines about jobs, under the supervision loop's category. At Information, one line per job start,
/// main process exit and stop, plus failures and warnings; the step-by-step trace (goals, states, spawns, hooks' exits,
/// signals, events) is at Debug (supd --log-level Debug, or LogLevel in supd.json).
/// </summary>
internal static partial class SupervisorLog
{
    [LoggerMessage(EventId = 60, Level = LogLevel.Critical, Message = "Critical job {Job} failed: {Reason}; supd is stopping every job and will exit non-zero")]
    internal static partial void LogCriticalJobFailed(this ILogger logger, string job, string reason);

    [LoggerMessage(EventId = 61, Level = LogLevel.Critical, Message = "The supervision loop failed: sending {Signal} to {Process} (group {Pid})")]
    internal static partial void LogLoopFailureKill(this ILogger logger, string process, int pid, string signal);

    [LoggerMessage(EventId = 62, Level = LogLevel.Error, Message = "The supervision loop failed, and so did {Step}: {Error}")]
    internal static partial void LogLoopFailureStep(this ILogger logger, string step, string error);

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "{Job} goal changed from {From} to {To}")]
    internal static partial void LogGoalChanged(this ILogger logger, string job, string from, string to);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "{Job} state changed from {From} to {To}")]
    internal static partial void LogStateChanged(this ILogger logger, string job, string from, string to);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "{Job} {Process} process ({Pid}) started")]
    internal static partial void LogSpawned(this ILogger logger, string job, string process, int pid);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Failed to spawn {Job} {Process} process: {Reason}")]
    internal static partial void LogSpawnFailed(this ILogger logger, string job, string process, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "{Job} {Process} process ({Pid}) {Status}")]
    internal static partial void LogProcessExited(this ILogger logger, string job, string process, int pid, string status);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "{Job} main process ended, respawning")]
    internal static partial void LogRespawning(this ILogger logger, string job);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "{Job} respawning too fast (more than {Count} times in {Interval}s), stopped")]
    internal static partial void LogRespawningTooFast(this ILogger logger, string job, int count, int interval);

    [LoggerMessage(EventId = 107, Level = LogLevel.Debug, Message = "{Job} sending SIG{Signal} to process group {Pid}")]
    internal static partial void LogKilling(this ILogger logger, string job, int pid, string signal);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "{Job} main process ({Pid}) still running {Timeout}s after the kill signal; sending SIGKILL to its group")]
    internal static partial void LogKillTimeout(this ILogger logger, string job, int pid, double timeout);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "Event {Event}")]
    internal static partial void LogEventEmitted(this ILogger logger, string @event);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Job}: cannot name the instance to start: {Reason}")]
    internal static partial void LogInstanceNameFailed(this ILogger logger, string job, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "Reaped pid {Pid} that belongs to no job: {Status}")]
    internal static partial void LogUnknownChild(this ILogger logger, int pid, string status);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "{Job} sending SIG{Signal} to process group {Pid} (reload)")]
    internal static partial void LogReloading(this ILogger logger, string job, int pid, string signal);

    [LoggerMessage(EventId = 113, Level = LogLevel.Information, Message = "Loaded {Count} jobs")]
    internal static partial void LogJobsLoaded(this ILogger logger, int count);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Shutting down: stopping the {Count} job instances still up")]
    internal static partial void LogShutdown(this ILogger logger, int count);

    [LoggerMessage(EventId = 115, Level = LogLevel.Warning, Message = "Shutdown ran out of time: killing {Job} {Process} process group {Pid}")]
    internal static partial void LogKillEverything(this ILogger logger, string job, string process, int pid);

    [LoggerMessage(EventId = 116, Level = LogLevel.Warning, Message = "{Job} is started by its own {Event} event: it will start again every time it stops")]
    internal static partial void LogSelfTriggered(this ILogger logger, string job, string @event);

    [LoggerMessage(EventId = 117, Level = LogLevel.Debug, Message = "{Job} expect {Expect}: following process {Pid}")]
    internal static partial void LogExpectSatisfied(this ILogger logger, string job, string expect, int pid);

    [LoggerMessage(EventId = 118, Level = LogLevel.Warning, Message = "{Job} {Problem}")]
    internal static partial void LogExpectProblem(this ILogger logger, string job, string problem);

    [LoggerMessage(EventId = 445, Level = LogLevel.Information, Message = "Leaving {Count} job instances running for the next supd to adopt")]
    internal static partial void LogLeavingJobs(this ILogger logger, int count);

    [LoggerMessage(EventId = 119, Level = LogLevel.Information, Message = "Shutting down: no job is up")]
    internal static partial void LogShutdownNothingLeft(this ILogger logger);

    // The same line as 104, for the main process: its end is part of the job's story, not of the trace.
    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "{Job} {Process} process ({Pid}) {Status}")]
    internal static partial void LogMainExited(this ILogger logger, string job, string process, int pid, string status);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "{Job} started (main process {Pid})")]
    internal static partial void LogJobStarted(this ILogger logger, string job, int pid);

    [LoggerMessage(EventId = 122, Level = LogLevel.Information, Message = "{Job} started")]
    internal static partial void LogJobStartedWithoutMain(this ILogger logger, string job);

    [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "{Job} stopped")]
    internal static partial void LogJobStopped(this ILogger logger, string job);

    [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "{Job} stopped, failed: {Reason}")]
    internal static partial void LogJobStoppedFailed(this ILogger logger, string job, string reason);

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "Configuration reloaded: {Added} added, {Changed} changed, {Removed} removed, {Errors} files rejected")]
    internal static partial void LogConfigurationReloaded(this ILogger logger, int added, int changed, int removed, int errors);

    [LoggerMessage(EventId = 131, Level = LogLevel.Information, Message = "{Job} {What}")]
    internal static partial void LogGoalRestored(this ILogger logger, string job, string what);

    [LoggerMessage(EventId = 132, Level = LogLevel.Information, Message = "{Job} was stopped by hand before supd restarted: not started by the boot events (a later event or supctl start starts it)")]
    internal static partial void LogHeldStopped(this ILogger logger, string job);

    [LoggerMessage(EventId = 133, Level = LogLevel.Information, Message = "{Job} disabled by {By}: events do not start it (supctl start still does)")]
    internal static partial void LogDisabled(this ILogger logger, string job, string by);

    [LoggerMessage(EventId = 134, Level = LogLevel.Information, Message = "{Job} enabled by {By}: its start on events start it again")]
    internal static partial void LogEnabled(this ILogger logger, string job, string by);

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "{Job}: {Hint}; running it without")]
    internal static partial void LogHintNotApplied(this ILogger logger, string job, string hint);

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "{Job} main process ended, respawning in {Delay:0.0}s")]
    internal static partial void LogRespawningAfter(this ILogger logger, string job, double delay);

    [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "{Job} respawn delay cut short by start")]
    internal static partial void LogRespawnCutShort(this ILogger logger, string job);

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "{Job} check passed; going ahead with the {Command}")]
    internal static partial void LogCheckPassed(this ILogger logger, string job, string command);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "{Job} check failed ({Reason}); not {Done}")]
    internal static partial void LogCheckFailed(this ILogger logger, string job, string reason, string done);

    [LoggerMessage(EventId = 422, Level = LogLevel.Warning, Message = "{Job} check process ({Pid}) still running after {Timeout}s; sending SIGKILL to its group")]
    internal static partial void LogCheckTimedOut(this ILogger logger, string job, int pid, double timeout);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "{Job}: {Why}; its check was killed")]
    internal static partial void LogCheckAbandoned(this ILogger logger, string job, string why);

    [LoggerMessage(EventId = 430, Level = LogLevel.Warning, Message = "{Job}: dropped {Count} variable(s) a caller without admin put into its events, which the job does not declare: {Names}")]
    internal static partial void LogVariablesDropped(this ILogger logger, string job, int count, string names);

    [LoggerMessage(EventId = 431, Level = LogLevel.Warning, Message = "{Job} main process could not be spawned ({Error}); trying again in {Delay}s under its respawn rules")]
    internal static partial void LogSpawnRetry(this ILogger logger, string job, string error, double delay);

    [LoggerMessage(EventId = 440, Level = LogLevel.Warning, Message = "{Job} health check process ({Pid}) still running after {Timeout}s; sending SIGKILL to its group")]
    internal static partial void LogHealthTimedOut(this ILogger logger, string job, int pid, double timeout);

    [LoggerMessage(EventId = 441, Level = LogLevel.Warning, Message = "{Job} health check failed ({Outcome}), {Failures} of {Retries}")]
    internal static partial void LogHealthFailed(this ILogger logger, string job, string outcome, int failures, int retries);

    [LoggerMessage(EventId = 442, Level = LogLevel.Debug, Message = "{Job} health check failed ({Outcome}) within its start period; not counted")]
    internal static partial void LogHealthFailedInStartPeriod(this ILogger logger, string job, string outcome);

    [LoggerMessage(EventId = 443, Level = LogLevel.Information, Message = "{Job} is healthy again")]
    internal static partial void LogHealthy(this ILogger logger, string job);

    [LoggerMessage(EventId = 444, Level = LogLevel.Warning, Message = "{Job} is {Reason}; restarting it")]
    internal static partial void LogUnhealthyRestart(this ILogger logger, string job, string reason);
}
