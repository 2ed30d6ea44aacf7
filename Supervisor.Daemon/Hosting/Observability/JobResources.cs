using System.Globalization;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Daemon.Hosting;

/// <summary>CPU time and memory of one instance, for /metrics and the status page.</summary>
public readonly record struct ResourceUsage(double CpuSeconds, long MemoryBytes);

/// <summary>
/// Where an instance's CPU and memory figures come from. Called off the loop; <see cref="ForOneScrape"/> gives a reader
/// that may share work (one scan of /proc) across the instances of one scrape or page.
/// </summary>
public interface IJobResources
{
    /// <summary>The instance's usage, or null when nothing is known (not running, or the process is gone).</summary>
    ResourceUsage? Read(JobStatusSnapshot instance);

    /// <summary>A reader for the instances of one scrape (the default: this one).</summary>
    IJobResources ForOneScrape() => this;
}

/// <summary>
/// The containment's accounting (issue 19), as <c>supctl show</c> and <c>top</c> print it: the instance's cgroup when
/// it has one (every process it ever had: cpu.stat, memory.current), else summed over the main's process group and
/// descendants from one scan of /proc per scrape.
/// </summary>
public sealed class ContainmentResources(IJobContainment containment) : IJobResources
{
    private readonly JobResources? _scrape;

    private ContainmentResources(IJobContainment containment, JobResources scrape) : this(containment) => _scrape = scrape;

    public IJobResources ForOneScrape() => new ContainmentResources(containment, new JobResources(containment));

    public ResourceUsage? Read(JobStatusSnapshot instance)
    {
        var main = instance.Processes.FirstOrDefault(p => p.Kind == ProcessKind.Main).Pid;
        if (main <= 0) return null;
        var usage = (_scrape ?? new JobResources(containment)).Of(main);
        return usage is null ? null : new ResourceUsage(usage.CpuUsec / 1_000_000.0, usage.MemoryBytes);
    }
}

/// <summary>
/// The main process's own figures from /proc: utime + stime (in clock ticks, USER_HZ = 100 on Linux) and resident
/// set size (statm's second field, in pages). Its children are not counted (what supd uses without a containment).
/// </summary>
public sealed class MainProcessResources : IJobResources
{
    private const double TicksPerSecond = 100; // USER_HZ, fixed by the kernel's ABI for /proc

    public ResourceUsage? Read(JobStatusSnapshot instance)
    {
        var main = instance.Processes.FirstOrDefault(p => p.Kind == ProcessKind.Main).Pid;
        return main > 0 ? Read(main) : null;
    }

    public static ResourceUsage? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // After "pid (comm) ": utime and stime are fields 14 and 15 (11 and 12 from the state's).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = ulong.Parse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture) +
                        ulong.Parse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture);
            var statm = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            var pages = long.Parse(statm[1], NumberStyles.None, CultureInfo.InvariantCulture);
            return new ResourceUsage(ticks / TicksPerSecond, pages * Environment.SystemPageSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException or FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
