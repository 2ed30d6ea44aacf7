namespace Supervisor.Core.Processes.Containment;

/// <summary>One start of a job instance, as containment knows it: its SUPD_TAG (the key) and its name for messages and the cgroup's name.</summary>
/// <param name="Settings">What its cgroup must hold (<see cref="CgroupSettings"/>): limits, weights, controllers.</param>
public readonly record struct ContainmentUnit(string Key, string Name, IReadOnlyList<CgroupSetting>? Settings = null);

/// <summary>
/// Keeps every process of a job instance together so that none outlives it: a cgroup per instance start
/// (<see cref="CgroupContainment"/>) or, without one, the instance's SUPD_TAG found in /proc (<see cref="TagContainment"/>).
/// Called by the process control from the loop's thread; anything slow (scans, waits) runs on the thread pool.
/// </summary>
public interface IJobContainment
{
    ContainmentMode Mode { get; }

    /// <summary>
    /// The cgroup directory the unit's next process must join before it execs (created on first use), or null when
    /// this mode places nothing. Throws <see cref="IOException"/> when the cgroup cannot be made, and
    /// <see cref="ContainmentException"/> when a setting cannot be had (no cgroups, the controller not available).
    /// </summary>
    string? Prepare(ContainmentUnit unit);

    /// <summary>Sends <paramref name="signal"/> to every process of the unit (SIGKILL: cgroup.kill where there is one).</summary>
    void Signal(string key, int signal);

    /// <summary>
    /// The unit is over: what is left gets SIGTERM now and SIGKILL after <paramref name="killTimeout"/>; its cgroup is
    /// removed once empty.
    /// </summary>
    void End(string key, TimeSpan killTimeout);

    /// <summary>The unit's cgroup directory, or null (no cgroups, or none made for it yet).</summary>
    string? Group(string key) => null;

    /// <summary>Processes of the unit the OOM killer ended so far (its cgroup's memory.events); 0 without a cgroup.</summary>
    long OomKills(string key) => 0;

    /// <summary>The directory of supd's job cgroup the process is in, or null (another group, or no cgroups).</summary>
    string? GroupOf(int pid) => null;

    /// <summary>supd is going: SIGKILL to every unit's processes at once, waiting at most <paramref name="wait"/> for them to go.</summary>
    Task EndAllAsync(TimeSpan wait);
}
