using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Lifecycle;

// supd's own log lines about jobs. At Information, one line per job start, main process exit and stop, plus failures
// and warnings; the step-by-step trace (goals, states, spawns, hooks' exits, signals, events) is at Debug
// (supd --log-level Debug, or LogLevel in supd.json).
public sealed partial class SupervisorLoop
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "{Job} goal changed from {From} to {To}")]
    private partial void LogGoalChanged(string job, string from, string to);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "{Job} state changed from {From} to {To}")]
    private partial void LogStateChanged(string job, string from, string to);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "{Job} {Process} process ({Pid}) started")]
    private partial void LogSpawned(string job, string process, int pid);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Failed to spawn {Job} {Process} process: {Reason}")]
    private partial void LogSpawnFailed(string job, string process, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "{Job} {Process} process ({Pid}) {Status}")]
    private partial void LogProcessExited(string job, string process, int pid, string status);

    // The same line as 104, for the main process: its end is part of the job's story, not of the trace.
    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "{Job} {Process} process ({Pid}) {Status}")]
    private partial void LogMainExited(string job, string process, int pid, string status);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "{Job} started (main process {Pid})")]
    private partial void LogJobStarted(string job, int pid);

    [LoggerMessage(EventId = 122, Level = LogLevel.Information, Message = "{Job} started")]
    private partial void LogJobStartedWithoutMain(string job);

    [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "{Job} stopped")]
    private partial void LogJobStopped(string job);

    [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "{Job} stopped, failed: {Reason}")]
    private partial void LogJobStoppedFailed(string job, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "{Job} main process ended, respawning")]
    private partial void LogRespawning(string job);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "{Job} respawning too fast (more than {Count} times in {Interval}s), stopped")]
    private partial void LogRespawningTooFast(string job, int count, int interval);

    [LoggerMessage(EventId = 107, Level = LogLevel.Debug, Message = "{Job} sending SIG{Signal} to process group {Pid}")]
    private partial void LogKilling(string job, int pid, string signal);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "{Job} main process ({Pid}) still running {Timeout}s after the kill signal; sending SIGKILL to its group")]
    private partial void LogKillTimeout(string job, int pid, double timeout);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "Event {Event}")]
    private partial void LogEventEmitted(string @event);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Job}: cannot name the instance to start: {Reason}")]
    private partial void LogInstanceNameFailed(string job, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "Reaped pid {Pid} that belongs to no job: {Status}")]
    private partial void LogUnknownChild(int pid, string status);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "{Job} sending SIG{Signal} to process group {Pid} (reload)")]
    private partial void LogReloading(string job, int pid, string signal);

    [LoggerMessage(EventId = 113, Level = LogLevel.Information, Message = "Loaded {Count} jobs")]
    private partial void LogJobsLoaded(int count);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Shutting down: stopping the {Count} job instances still up")]
    private partial void LogShutdown(int count);

    [LoggerMessage(EventId = 119, Level = LogLevel.Information, Message = "Shutting down: no job is up")]
    private partial void LogShutdownNothingLeft();

    [LoggerMessage(EventId = 116, Level = LogLevel.Warning, Message = "{Job} is started by its own {Event} event: it will start again every time it stops")]
    private partial void LogSelfTriggered(string job, string @event);

    [LoggerMessage(EventId = 117, Level = LogLevel.Debug, Message = "{Job} expect {Expect}: following process {Pid}")]
    private partial void LogExpectSatisfied(string job, string expect, int pid);

    [LoggerMessage(EventId = 118, Level = LogLevel.Warning, Message = "{Job} {Problem}")]
    private partial void LogExpectProblem(string job, string problem);

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "Configuration reloaded: {Added} added, {Changed} changed, {Removed} removed, {Errors} files rejected")]
    private partial void LogConfigurationReloaded(int added, int changed, int removed, int errors);

    [LoggerMessage(EventId = 131, Level = LogLevel.Information, Message = "{Job} {What}")]
    private partial void LogGoalRestored(string job, string what);

    [LoggerMessage(EventId = 132, Level = LogLevel.Information, Message = "{Job} was stopped by hand before supd restarted: not started by the boot events (a later event or supctl start starts it)")]
    private partial void LogHeldStopped(string job);

    [LoggerMessage(EventId = 133, Level = LogLevel.Information, Message = "{Job} disabled by {By}: events do not start it (supctl start still does)")]
    private partial void LogDisabled(string job, string by);

    [LoggerMessage(EventId = 134, Level = LogLevel.Information, Message = "{Job} enabled by {By}: its start on events start it again")]
    private partial void LogEnabled(string job, string by);

    [LoggerMessage(EventId = 115, Level = LogLevel.Warning, Message = "Shutdown ran out of time: killing {Job} {Process} process group {Pid}")]
    private partial void LogKillEverything(string job, string process, int pid);
}
