using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>An immutable picture of one job instance (or of a job with no instance) for the control API.</summary>
public sealed record JobStatusSnapshot
{
    public required string Job { get; init; }
    public string Instance { get; init; } = "";
    public JobGoal Goal { get; init; } = JobGoal.Stop;
    public JobState State { get; init; } = JobState.Waiting;

    /// <summary>Live processes in initctl's order: main, pre-start, post-start, pre-stop, post-stop.</summary>
    public IReadOnlyList<(ProcessKind Kind, int Pid)> Processes { get; init; } = [];

    /// <summary>The main process's pid; 0 when none runs.</summary>
    public int MainPid => Processes.FirstOrDefault(p => p.Kind == ProcessKind.Main).Pid;
    public string? Description { get; init; }
    public string SourcePath { get; init; } = "";
    public int RespawnCount { get; init; }
    public ProcessExitRecord? LastExit { get; init; }
    public string? Failure { get; init; }
    public DateTimeOffset? MainStarted { get; init; }

    /// <summary>When the instance entered its state (for a job with no instance: when its last one stopped).</summary>
    public DateTimeOffset? Since { get; init; }
    public string LogPath { get; init; } = "";
    public long LogBytesDropped { get; init; }

    /// <summary>Bytes of the instance's output its log file took since supd started (for /metrics).</summary>
    public long LogBytesWritten { get; init; }
    public string? Usage { get; init; }

    /// <summary>What the job's expect stanza promised and what its process did, when they differ.</summary>
    public string? ExpectProblem { get; init; }

    /// <summary>Hints (nice, oom score) the kernel refused for this instance's processes, which run without them.</summary>
    public IReadOnlyList<string> NotApplied { get; init; } = [];

    /// <summary>The job file changed (reload-configuration) since this instance started; its next start applies it.</summary>
    public bool ChangedOnDisk { get; init; }

    /// <summary>While the instance waits out a <c>respawn delay</c>: the time left until it starts again.</summary>
    public TimeSpan? NextRespawn { get; init; }

    /// <summary>
    /// Why the job is stopped (or stopping): "by hand, by alice (uid 1000)", "by stop on: EVENT …", "failed: …",
    /// "finished: main process exited with status 0", "never started"; null while it runs.
    /// </summary>
    public string? StopReason { get; init; }

    /// <summary>Set when <c>supctl disable</c> took the job out of event-driven starts: by whom and since when.</summary>
    public State.DisabledJob? Disabled { get; init; }

    /// <summary>Set for a live instance of a job with a <c>health</c> check: its verdict and its last run.</summary>
    public HealthSnapshot? Health { get; init; }

    /// <summary>When supd adopted the main process after a restart of supd (not its child: its exit status is unknown).</summary>
    public DateTimeOffset? AdoptedAt { get; init; }

    /// <summary>initctl's status line, as supctl prints it (<see cref="StatusLineFormat"/>).</summary>
    public string StatusLine() => StatusLineFormat.Format(
        Job, Instance, Goal.Name(), State.Name(), Failure, NextRespawn,
        Processes.Select(p => (p.Kind.Name(), p.Pid)).ToArray(), ChangedOnDisk, Disabled is not null, Health?.UnhealthyReason,
        AdoptedAt is not null);
}

/// <summary>
/// An instance's health: <c>starting</c>, <c>healthy</c> or <c>unhealthy</c> (with why), the counted failures in a
/// row, and the last run's time, verdict, outcome ("exit 1", "timed out after 5s") and last lines.
/// </summary>
public sealed record HealthSnapshot(
    string Status, string? UnhealthyReason, int Failures,
    DateTimeOffset? LastAt, bool LastPassed, string? LastOutcome, IReadOnlyList<string> LastOutput);

/// <summary>How a process of a job last ended (or failed to start).</summary>
public sealed record ProcessExitRecord(ProcessKind Process, int Pid, ExitStatus? Status, string? SpawnError, DateTimeOffset When)
{
    public override string ToString() => SpawnError is not null
        ? $"{Process.Name()} process failed to spawn: {SpawnError}"
        : $"{Process.Name()} process {Status}";
}
