using System.Text.Json.Serialization;

namespace Supervisor.Core.State;

/// <summary>
/// What supd keeps in <c>STATEDIR/goals.json</c> across restarts: what an operator did (instances stopped by hand
/// stay stopped; instances started by hand start again, with their variables) and the processes supd was running,
/// so that a supd that was SIGKILLed can kill what it left behind before starting jobs again.
/// </summary>
public sealed record GoalState
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    /// <summary>The kernel boot the process records belong to (/proc/sys/kernel/random/boot_id).</summary>
    public string BootId { get; init; } = "";

    public IReadOnlyList<InstanceGoal> StoppedByHand { get; init; } = [];
    public IReadOnlyList<InstanceGoal> StartedByHand { get; init; } = [];
    public IReadOnlyList<ProcessRecord> Processes { get; init; } = [];

    public static readonly GoalState Empty = new();
}

/// <summary>One instance an operator started or stopped; <see cref="Variables"/> are the K=V given to start.</summary>
/// <param name="Untrusted">The variables came from a caller without admin: restored, they are checked against the job again.</param>
public sealed record InstanceGoal(string Job, string Instance, IReadOnlyList<string> Variables, bool Untrusted = false);

/// <summary>
/// A live process of a job: its pid, the process group supd signals, and its start time in clock ticks after boot
/// (/proc/PID/stat field 22), which tells it from a later process that reuses the pid.
/// </summary>
public sealed record ProcessRecord(string Job, string Instance, string Process, int Pid, int ProcessGroup, ulong StartTime, long KillTimeoutMs);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(GoalState))]
internal sealed partial class GoalStateJson : JsonSerializerContext;
