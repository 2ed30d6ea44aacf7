using System.Text.Json.Serialization;

namespace Supervisor.Core.Handover;

/// <summary>
/// What one supd hands to the next across a re-exec (<c>supctl daemon-reexec</c>), in a memfd the exec keeps open:
/// the inherited descriptors (the control socket's listener and its lock) and every instance that lives on, with its
/// main process (still supd's child: same pid, so the new image reaps it) and its output pipes. Goals set by hand go
/// through goals.json as at any start. A format the new binary cannot read is refused before the exec
/// (<see cref="ReadableVersions"/>, asked with <c>--handover-formats</c>).
/// </summary>
public sealed record HandoverState
{
    public const int CurrentVersion = 1;

    /// <summary>The versions this build reads (printed by <c>supd --handover-formats</c>).</summary>
    public static IReadOnlyList<int> ReadableVersions { get; } = [1];

    public int Version { get; init; } = CurrentVersion;

    /// <summary>The kernel boot it was written in (/proc/sys/kernel/random/boot_id): a state is only read in the same one.</summary>
    public string BootId { get; init; } = "";

    /// <summary>Re-execs since supd was first started, this one included.</summary>
    public int Generation { get; init; }

    /// <summary>When supd was first started (its uptime goes on across re-execs).</summary>
    public DateTimeOffset FirstStarted { get; init; }

    /// <summary>The control socket's listening descriptor (never closed, so a client's connect waits in its backlog).</summary>
    public int ListenFd { get; init; } = -1;

    /// <summary>The single-instance lock beside the socket (its flock stays held through the exec).</summary>
    public int LockFd { get; init; } = -1;

    public IReadOnlyList<HandedInstance> Instances { get; init; } = [];

    /// <summary>When it was taken (Stopwatch's monotonic clock, which an exec keeps): deadlines go on from then.</summary>
    public long TakenAt { get; init; }
}

/// <summary>
/// One instance that waits for nothing but its main process or its deadline: <c>running</c> (with its main process,
/// or none), <c>respawning</c> (its delay's rest in <see cref="DeadlineMs"/>) or <c>killed</c> (its kill signal sent,
/// the rest of its kill timeout in <see cref="DeadlineMs"/>). Instances in any other state hold a re-exec back until
/// they get to one of these.
/// </summary>
/// <param name="Goal">start or stop (a killed instance's is stop, unless a restart is under way).</param>
/// <param name="PendingStartVariables">The variables the next start takes (a restart under way with new ones); null: none.</param>
/// <param name="DefinitionSource">The job file the instance runs under, as read (<see cref="Language.JobDefinition.SourceText"/>): it
/// goes on under it even if the file changed, went or no longer parses, as after a reload.</param>
/// <param name="StopVariables">The variables of the stop under way (<c>stop JOB K=V</c>, the <c>stop on</c> event), for post-stop.</param>
/// <param name="MainStartTime">The main process's start time (/proc/PID/stat field 22), checked before it is adopted.</param>
/// <param name="Cgroup">The cgroup of the instance's start (empty without one): kept by the new image, not cleared as a leftover.</param>
/// <param name="DeadlineMs">What is left of the instance's deadline (a respawn delay, a start grace), or -1.</param>
/// <param name="AdoptedAt">Set when the main process was adopted after a restart of supd: not supd's child, so the next
/// image follows it as such (its end comes with an unknown status) and keeps the mark.</param>
public sealed record HandedInstance(
    string Job,
    string Instance,
    string State,
    int MainPid,
    int MainProcessGroup,
    ulong MainStartTime,
    DateTimeOffset? MainStarted,
    DateTimeOffset StateSince,
    IReadOnlyList<HandedVariable> StartVariables,
    IReadOnlyList<HandedVariable> EnvFileValues,
    bool EnvFilesRead,
    string Tag,
    HandedRespawns Respawns,
    long DeadlineMs,
    bool StartedByBoot,
    IReadOnlyList<HandedPipe> Pipes,
    string Cgroup = "",
    string Goal = "start",
    IReadOnlyList<HandedVariable>? StopVariables = null,
    IReadOnlyList<HandedVariable>? PendingStartVariables = null,
    string DefinitionSource = "",
    DateTimeOffset? AdoptedAt = null);

public sealed record HandedVariable(string Key, string Value, bool Untrusted = false);

/// <summary>The instance's respawn count, runaway window (monotonic clock: it goes on across an exec) and back-off.</summary>
public sealed record HandedRespawns(int Count, long WindowStart, int WindowCount, int BackoffAttempt);

/// <summary>
/// The read end of a process's output pipe, as the exec left it, with where its log line stood: a chunk read before the
/// exec that ended mid-line goes on without a second timestamp; <see cref="Pending"/> is the line the mirror or
/// journal still waits to finish (base64, at most <see cref="Logs.JobOutputWriter.MaxMirrorLine"/> bytes).
/// <see cref="Name"/> is what the pipe keeper holds it as (<see cref="Processes.KeptPipeName"/>); in the records goals.json
/// keeps for the next supd after a crash, <see cref="Fd"/> is -1 and the name is how the pipe is found again.
/// </summary>
public sealed record HandedPipe(string Process, bool ErrorStream, int Fd, bool AtLineStart, string Pending, string Name = "");

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HandoverState))]
internal sealed partial class HandoverStateJson : JsonSerializerContext;
