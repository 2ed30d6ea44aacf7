using Supervisor.Core.Events;

namespace Supervisor.Core.Language;

/// <summary>
/// One parsed job file (plus its override): immutable, what the parser produces and the lifecycle consumes.
/// Defaults are Upstart 1.12's (spec §3). A running instance keeps the definition it was started with.
/// </summary>
public sealed record JobDefinition
{
    /// <summary>Path relative to the job dir without ".conf": <c>net/apache</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The .conf file it came from (and the .override, if one was applied).</summary>
    public required string SourcePath { get; init; }
    public string? OverridePath { get; init; }

    /// <summary>
    /// The paths and texts it was read from, exactly (set by <see cref="JobDirectoryLoader"/>); reload-configuration
    /// calls a job changed when this differs. The text itself rather than a hash: exact, small for job files, and a
    /// SHA-256 would make a native supd load OpenSSL (libssl), which a slim container image does not have. Empty for a
    /// definition not read from files.
    /// </summary>
    public string SourceText { get; init; } = "";

    public string? Description { get; init; }
    public string? Author { get; init; }
    public string? Version { get; init; }
    public string? Usage { get; init; }

    /// <summary>The main process (<c>exec</c> or <c>script</c>); null for an abstract job.</summary>
    public ProcessCommand? Main { get; init; }
    public ProcessCommand? PreStart { get; init; }
    public ProcessCommand? PostStart { get; init; }
    public ProcessCommand? PreStop { get; init; }
    public ProcessCommand? PostStop { get; init; }

    /// <summary>supd extension <c>check exec|script</c>: run before restart/reload.</summary>
    public ProcessCommand? Check { get; init; }

    /// <summary>supd extension <c>health exec|script</c>: run every interval while the job runs; failures restart it.</summary>
    public ProcessCommand? Health { get; init; }

    /// <summary>supd extension <c>health interval|timeout|retries|start-period</c> (Docker HEALTHCHECK's meaning and defaults).</summary>
    public HealthSettings HealthSettings { get; init; } = Defaults.Job.Health;

    public EventExpression? StartOn { get; init; }
    public EventExpression? StopOn { get; init; }

    /// <summary>True when a <c>manual</c> stanza was seen (it clears an earlier <c>start on</c>).</summary>
    public bool Manual { get; init; }

    public IReadOnlyList<string> Emits { get; init; } = [];

    /// <summary><c>env</c> stanzas in file order: <c>KEY=VALUE</c> or a bare <c>KEY</c> (copied from supd's environment).</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    public IReadOnlyList<string> Export { get; init; } = [];

    public bool Task { get; init; }
    public bool Respawn { get; init; }
    public RespawnLimit RespawnLimit { get; init; } = Defaults.Job.RespawnLimit;

    /// <summary>supd extension <c>respawn delay MIN [MAX]</c>; null keeps Upstart's immediate respawn.</summary>
    public RespawnDelay? RespawnDelay { get; init; }

    public IReadOnlyList<ExitCondition> NormalExit { get; init; } = Defaults.Job.NormalExit;

    /// <summary>
    /// supd extension <c>start grace SECONDS</c>: a start is answered once the main process has stayed up this long,
    /// and its end within it fails the start (even with respawn). Null: answered at running, as Upstart did.
    /// </summary>
    public TimeSpan? StartGrace { get; init; }

    /// <summary><c>instance NAME</c>, unexpanded (may contain <c>$VAR</c>); empty for a single-instance job.</summary>
    public string Instance { get; init; } = "";

    public ConsoleMode Console { get; init; } = Defaults.Job.Console;

    /// <summary>File creation mask; null means the default (<see cref="Defaults.Job.Umask"/>, 022).</summary>
    public int? Umask { get; init; }
    public int? Nice { get; init; }

    /// <summary><c>oom score</c> (-1000..1000; <c>never</c> = -1000); the legacy <c>oom</c> is converted to a score.</summary>
    public int? OomScore { get; init; }

    /// <summary><c>limit RESOURCE SOFT HARD</c>, keyed by Upstart's resource name (<c>nofile</c>, <c>core</c>, …).</summary>
    public IReadOnlyDictionary<string, ResourceLimit> Limits { get; init; } = new Dictionary<string, ResourceLimit>();

    public string? Chroot { get; init; }
    public string? Chdir { get; init; }
    public string? Setuid { get; init; }
    public string? Setgid { get; init; }

    public ExpectMode Expect { get; init; } = Defaults.Job.Expect;

    public int KillSignal { get; init; } = Defaults.Job.KillSignal;
    public TimeSpan KillTimeout { get; init; } = Defaults.Job.KillTimeout;
    public int ReloadSignal { get; init; } = Defaults.Job.ReloadSignal;

    public string? ApparmorLoad { get; init; }
    public string? ApparmorSwitch { get; init; }

    /// <summary><c>cgroup CONTROLLER [KEY VALUE]</c> stanzas (Upstart 1.13), kept verbatim; applied to the instance's cgroup at its start (Processes/Containment/CgroupSettings).</summary>
    public IReadOnlyList<string> Cgroups { get; init; } = [];

    /// <summary>supd extensions, applied to the instance's cgroup: <c>memory max SIZE</c> (memory.max), <c>tasks max N</c> (pids.max), <c>cpu weight N</c> (cpu.weight, 1-10000).</summary>
    public long? MemoryMax { get; init; }
    public long? TasksMax { get; init; }
    public int? CpuWeight { get; init; }

    /// <summary>supd extension <c>env-file PATH</c> (a leading '-' makes it optional).</summary>
    public IReadOnlyList<EnvFileReference> EnvFiles { get; init; } = [];

    /// <summary>supd extension <c>log rotate SIZE COUNT</c>; null uses the daemon-wide default.</summary>
    public LogRotation? LogRotate { get; init; }

    /// <summary>supd extension <c>log timestamps</c>.</summary>
    public bool LogTimestamps { get; init; }

    /// <summary>supd extension <c>critical</c>: when this job fails for good, supd stops everything and exits non-zero.</summary>
    public bool Critical { get; init; }
}

/// <summary>The command of one job process: an <c>exec</c> line or a <c>script</c> block.</summary>
/// <param name="IsScript">True for <c>script … end script</c>.</param>
/// <param name="Text">The raw command line (quotes and backslashes kept), or the script body with its common indentation removed.</param>
/// <param name="Line">Line of the stanza in its file, for messages.</param>
public sealed record ProcessCommand(bool IsScript, string Text, int Line = 0)
{
    public static ProcessCommand Exec(string command, int line = 0) => new(false, command, line);
    public static ProcessCommand Script(string body, int line = 0) => new(true, body, line);
}

/// <summary><c>respawn limit COUNT INTERVAL</c>; <c>unlimited</c> or a zero count or interval disables the limit.</summary>
public sealed record RespawnLimit(int Count, int IntervalSeconds)
{
    public static readonly RespawnLimit Unlimited = new(0, 0);
    public bool IsUnlimited => Count == 0 || IntervalSeconds == 0;
}

/// <summary><c>respawn delay MIN [MAX]</c> in seconds (fractions allowed).</summary>
public sealed record RespawnDelay(double MinSeconds, double MaxSeconds)
{
    /// <summary>"MIN [MAX]" as in the stanza (supd's daemon-wide default): MIN above 0, MAX (default MIN) at least MIN.</summary>
    public static bool TryParse(string text, out RespawnDelay? delay)
    {
        delay = null;
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is < 1 or > 2 || !NumberParsing.TryParseSeconds(words[0], out var min) || min <= 0) return false;
        var max = min;
        if (words.Length == 2 && (!NumberParsing.TryParseSeconds(words[1], out max) || max < min)) return false;
        delay = new RespawnDelay(min, max);
        return true;
    }
}

/// <summary>An entry of <c>normal exit</c>: an exit status or a signal.</summary>
public readonly record struct ExitCondition(bool IsSignal, int Value)
{
    public static ExitCondition Status(int code) => new(false, code);
    public static ExitCondition Signal(int signal) => new(true, signal);
    public override string ToString() => IsSignal ? Signals.Name(Value) : Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Soft and hard value of one <c>limit</c>; null means <c>unlimited</c>.</summary>
public sealed record ResourceLimit(ulong? Soft, ulong? Hard);

public sealed record EnvFileReference(string Path, bool Optional);

/// <summary><c>log rotate SIZE COUNT</c>: rotate at SIZE bytes, keep COUNT old files.</summary>
public sealed record LogRotation(long SizeBytes, int Count);

public enum ConsoleMode { Log, None, Output, Owner }

public enum ExpectMode { None, Stop, Fork, Daemon }

/// <summary>
/// How a job's <c>health</c> check runs (Docker HEALTHCHECK's meaning): every <paramref name="Interval"/> while the job
/// runs, each run killed after <paramref name="Timeout"/>; <paramref name="Retries"/> failures in a row make the
/// instance unhealthy; failures within <paramref name="StartPeriod"/> of the main process's start do not count.
/// </summary>
public sealed record HealthSettings(TimeSpan Interval, TimeSpan Timeout, int Retries, TimeSpan StartPeriod);
