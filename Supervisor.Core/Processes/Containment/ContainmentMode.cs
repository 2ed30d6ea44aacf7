namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// How supd keeps a job's processes together, decided once at start (<see cref="CgroupDetection"/>): a cgroup v2
/// directory per job instance under <see cref="JobsRoot"/>, or (no writable v2 hierarchy) process groups plus the
/// instance's SUPD_TAG, with <see cref="Reason"/> saying why.
/// </summary>
/// <param name="Hierarchy">The cgroup2 mount point (e.g. /sys/fs/cgroup/unified); null in process-group mode.</param>
/// <param name="JobsRoot">The directory supd creates one cgroup per job instance in; null in process-group mode.</param>
/// <param name="SupdLeaf">Delegated mode: the leaf supd moves itself into first (a v2 cgroup with children holds no processes).</param>
/// <param name="Reason">Why this mode: "root", "delegated", or why there are no cgroups.</param>
public sealed record ContainmentMode(string? Hierarchy, string? JobsRoot, string? SupdLeaf, string Reason)
{
    public bool UsesCgroups => JobsRoot is not null;

    public static ContainmentMode ProcessGroups(string why) => new(null, null, null, why);

    /// <summary>The line supd logs at start and <c>supctl version</c> prints after <c>containment: </c>.</summary>
    public string Describe() => UsesCgroups
        ? $"cgroup v2 at {JobsRoot} ({Reason})"
        : $"process groups ({Reason})";
}
