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

    /// <summary>Events emitted after <c>startup</c>, so jobs written for Ubuntu start unmodified (lifecycle issue).</summary>
    public List<string> BootEvents { get; set; } = [];

    /// <summary>Extra time on top of the longest kill timeout that a shutdown may take before everything is SIGKILLed.</summary>
    public double ShutdownGraceSeconds { get; set; } = 10;
}

/// <summary>The paths supd runs with, after defaults are applied and made absolute.</summary>
public sealed record SupdPaths(IReadOnlyList<string> JobDirs, string Socket, string LogDir, string StateDir);
