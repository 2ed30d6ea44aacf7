using Supervisor.Core;
using Supervisor.Core.Access;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// supd's settings, bound from (lowest to highest) defaults, supd.json, SUPD_-prefixed environment variables and the
/// command line: <c>--job-dir DIR</c> (repeatable), <c>--socket</c>, <c>--log-dir</c>, <c>--state-dir</c>.
/// Environment: <c>SUPD_SOCKET</c>, <c>SUPD_LOGDIR</c>, <c>SUPD_STATEDIR</c>, <c>SUPD_JOBDIRS__0</c>, …
/// </summary>
public sealed class SupdOptions
{
    public List<string> JobDirs { get; set; } = [];
    public string? Socket { get; set; }
    public string? LogDir { get; set; }
    public string? StateDir { get; set; }

    /// <summary>
    /// Events emitted after <c>startup</c>, separated by ';', each "NAME [KEY=VALUE…]", so jobs written for Ubuntu
    /// (<c>start on filesystem</c>, <c>start on runlevel [2345]</c>) start unmodified. Empty: none.
    /// </summary>
    public string BootEvents { get; set; } = Defaults.Daemon.BootEvents;

    /// <summary>Emitted on SIGTERM/SIGINT before every job is stopped, so <c>stop on</c> and shutdown tasks run. Empty: none.</summary>
    public string ShutdownEvent { get; set; } = Defaults.Daemon.ShutdownEvent;

    /// <summary>The supctl binary that job processes reach as initctl/start/stop/…; found beside supd when not set.</summary>
    public string? Supctl { get; set; }

    /// <summary>Extra time on top of the longest kill timeout that a shutdown may take before everything is SIGKILLed.</summary>
    public double ShutdownGraceSeconds { get; set; } = Defaults.Daemon.ShutdownGraceSeconds;

    /// <summary>
    /// <c>respawn delay</c> for jobs without one, as in a job file: "MIN [MAX]" in seconds ("1 60"). Empty: Upstart's
    /// immediate respawn.
    /// </summary>
    public string? RespawnDelay { get; set; }

    /// <summary>How long a restart's or reload's <c>check</c> may run before it is killed and counts as failed.</summary>
    public double CheckTimeoutSeconds { get; set; } = Defaults.Supervision.CheckTimeout.TotalSeconds;

    /// <summary>The control socket's permissions, in octal. Connecting needs write permission on it.</summary>
    public string SocketMode { get; set; } = Defaults.Daemon.SocketMode;

    /// <summary>The control socket's group, by name; not set: supd's own group.</summary>
    public string? SocketGroup { get; set; }

    /// <summary>Job logs rotate past this size (bytes, or with a K, M or G suffix) unless a job says <c>log rotate</c>.</summary>
    public string LogRotateSize { get; set; } = Defaults.Logs.RotateSize;

    /// <summary>How many rotated files (<c>JOB.log.1</c> … <c>JOB.log.N</c>) are kept; 0 keeps none.</summary>
    public int LogRotateCount { get; set; } = Defaults.Logs.RotateCount;

    /// <summary>
    /// How many finished instances of each instance job keep their log (<c>JOB-INSTANCE.log</c> and its rotated
    /// copies); older ones are removed, oldest first, as more instances finish. 0 removes a log when its instance ends.
    /// </summary>
    public int InstanceLogRetention { get; set; } = Defaults.Logs.InstanceLogRetention;

    /// <summary>Prefix every line of every job log with an ISO-8601 time (a job can ask for it alone: <c>log timestamps</c>).</summary>
    public bool LogTimestamps { get; set; }

    /// <summary>Also write every job line to supd's stdout as <c>JOB| line</c> (for containers: <c>docker logs</c>).</summary>
    public bool LogToStdout { get; set; }

    /// <summary>
    /// What supd writes to stderr and supd.log: Debug, Information (default), Warning or Error. Information is one line
    /// per job start, main process exit and stop, plus warnings and failures; Debug adds every goal and state change,
    /// spawn, signal and event, and each allowed request (denied ones are always logged).
    /// </summary>
    public string LogLevel { get; set; } = Defaults.Daemon.LogLevel;

    /// <summary>How many recent events and state changes supd keeps for <c>supctl events</c> (without -f).</summary>
    public int EventHistory { get; set; } = Defaults.Daemon.EventHistory;

    /// <summary>How many items a <c>supctl events -f</c> watcher may fall behind before items are dropped (and reported).</summary>
    public int EventQueueSize { get; set; } = Defaults.Daemon.EventQueueSize;

    /// <summary>Who may do what beyond root and supd's own user (docs/access-control.md).</summary>
    public AccessOptions Access { get; set; } = new();
}

/// <summary>The paths supd runs with, after defaults are applied and made absolute.</summary>
public sealed record SupdPaths(IReadOnlyList<string> JobDirs, string Socket, string LogDir, string StateDir);
