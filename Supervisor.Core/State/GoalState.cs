using System.Text.Json.Serialization;

namespace Supervisor.Core.State;

/// <summary>
/// What supd keeps in <c>STATEDIR/goals.json</c> across restarts: what an operator did (instances stopped by hand
/// stay stopped; instances started by hand start again, with their variables) and the processes supd was running,
/// so that a supd that was SIGKILLed can kill what it left behind before starting jobs again.
/// Version 2 added <see cref="Disabled"/> and who stopped an instance (<see cref="InstanceGoal.By"/>, <see cref="InstanceGoal.At"/>);
/// a version 1 file is read as having none of them. Version 3 added <see cref="Survivors"/>.
/// </summary>
public sealed record GoalState
{
    public const int CurrentVersion = 3;

    /// <summary>The versions <see cref="GoalStore"/> reads.</summary>
    public static bool IsKnownVersion(int version) => version is 1 or 2 or CurrentVersion;

    public int Version { get; init; } = CurrentVersion;

    /// <summary>The kernel boot the process records belong to (/proc/sys/kernel/random/boot_id).</summary>
    public string BootId { get; init; } = "";

    public IReadOnlyList<InstanceGoal> StoppedByHand { get; init; } = [];
    public IReadOnlyList<InstanceGoal> StartedByHand { get; init; } = [];
    public IReadOnlyList<ProcessRecord> Processes { get; init; } = [];

    /// <summary>Jobs disabled by <c>supctl disable</c>: no event starts them, only an explicit start.</summary>
    public IReadOnlyList<DisabledJob> Disabled { get; init; } = [];

    /// <summary>
    /// The instances that run on if supd dies without a handover (a crash, SIGKILL, an exit that leaves the jobs), as a
    /// re-exec would hand them over but with their output pipes named for the pipe keeper instead of open: the next
    /// supd adopts each whose process it can verify (Lifecycle's LoopHandover.Survivors). Null in older files.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Handover.HandoverState? Survivors { get; init; }

    public static readonly GoalState Empty = new();
}

/// <summary>One instance an operator started or stopped; <see cref="Variables"/> are the K=V given to start.</summary>
/// <param name="Untrusted">The variables came from a caller without admin: restored, they are checked against the job again.</param>
public sealed record InstanceGoal(string Job, string Instance, IReadOnlyList<string> Variables, bool Untrusted = false)
{
    /// <summary>Who stopped it ("alice (uid 1000)"); null in a version 1 file, and for a start.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? By { get; init; }

    /// <summary>When it was stopped; null in a version 1 file, and for a start.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? At { get; init; }
}

/// <summary>A job <c>supctl disable</c> took out of event-driven starts: by whom ("alice (uid 1000)") and since when.</summary>
public sealed record DisabledJob(string Job, string By, DateTimeOffset Since);

/// <summary>
/// A live process of a job: its pid, the process group supd signals, and its start time in clock ticks after boot
/// (/proc/PID/stat field 22), which tells it from a later process that reuses the pid.
/// </summary>
public sealed record ProcessRecord(string Job, string Instance, string Process, int Pid, int ProcessGroup, ulong StartTime, long KillTimeoutMs);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(GoalState))]
internal sealed partial class GoalStateJson : JsonSerializerContext;
