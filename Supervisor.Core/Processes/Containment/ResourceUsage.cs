using System.Globalization;

namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// What a job instance's start uses, as <c>supctl show</c> and <c>supctl top</c> print it, from its cgroup
/// (<see cref="ResourceReader.FromCgroup"/>) or summed over its live processes (<see cref="ResourceReader.FromProcesses"/>).
/// </summary>
/// <param name="Tasks">Live processes: pids.current, else the pids counted.</param>
/// <param name="MemoryBytes">memory.current, else the processes' resident sets summed.</param>
/// <param name="MemoryPeakBytes">memory.peak, else each process's own peak (VmHWM) summed (an upper bound: peaks need not coincide).</param>
/// <param name="CpuUsec">cpu.stat's usage_usec (every process the group ever had), else the live processes' utime + stime.</param>
/// <param name="IoReadBytes">io.stat's rbytes, else /proc/PID/io's read_bytes summed; null when neither can be read.</param>
/// <param name="Source">"cgroup" or "processes".</param>
public sealed record ResourceUsage(int Tasks, long MemoryBytes, long MemoryPeakBytes, long CpuUsec, long? IoReadBytes, long? IoWriteBytes, string Source);

/// <summary>Reads <see cref="ResourceUsage"/> from cgroup v2 files and /proc (<paramref name="procRoot"/>: a fake tree in tests).</summary>
public static class ResourceReader
{
    private static readonly long PageSize = Environment.SystemPageSize;
    private static readonly long TicksPerSecond = Math.Max(1, Interop.Libc.SysConf(Interop.Libc._SC_CLK_TCK));

    public static ResourceUsage FromCgroup(string group, string procRoot = "/proc")
    {
        var pids = CgroupFiles.Procs(group);
        var processes = FromProcesses(pids, procRoot);
        var tasks = ReadNumber(Path.Join(group, "pids.current")) is { } current ? (int)current : pids.Count;
        var cpu = ReadKey(Path.Join(group, "cpu.stat"), "usage_usec") ?? processes.CpuUsec;
        var memory = ReadNumber(Path.Join(group, "memory.current")) ?? processes.MemoryBytes;
        var peak = ReadNumber(Path.Join(group, "memory.peak")) ?? processes.MemoryPeakBytes;
        var (read, write) = IoStat(Path.Join(group, "io.stat")) is { } io ? (io.Read, io.Write) : (processes.IoReadBytes, processes.IoWriteBytes);
        return new ResourceUsage(tasks, memory, peak, cpu, read, write, "cgroup");
    }

    public static ResourceUsage FromProcesses(IEnumerable<int> pids, string procRoot = "/proc")
    {
        int tasks = 0;
        long memory = 0, peak = 0, cpu = 0, read = 0, write = 0;
        var io = false;
        foreach (var pid in pids)
        {
            var dir = Path.Join(procRoot, pid.ToString(CultureInfo.InvariantCulture));
            if (CpuTicks(dir) is not { } ticks) continue; // gone (or a zombie's, which counts no more)
            tasks++;
            cpu += ticks * 1_000_000 / TicksPerSecond;
            memory += ResidentPages(dir) * PageSize;
            peak += ReadKey(Path.Join(dir, "status"), "VmHWM:") is { } kib ? kib * 1024 : 0;
            var ioText = ReadText(Path.Join(dir, "io"));
            if (Key(ioText, "read_bytes:") is { } r && Key(ioText, "write_bytes:") is { } w)
            {
                io = true;
                read += r;
                write += w;
            }
        }
        return new ResourceUsage(tasks, memory, peak, cpu, io ? read : null, io ? write : null, "processes");
    }

    // utime + stime (stat fields 14 and 15) in clock ticks; null when the process is gone or a zombie.
    private static long? CpuTicks(string dir) =>
        ProcFs.StatFields(Path.Join(dir, "stat")) is { Info.State: not 'Z' } stat ? stat.UserTicks + stat.SystemTicks : null;

    // statm's second field: resident pages.
    private static long ResidentPages(string dir)
    {
        var fields = ReadText(Path.Join(dir, "statm"))?.Split(' ');
        return fields is { Length: > 1 } && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages) ? pages : 0;
    }

    private static (long Read, long Write)? IoStat(string path)
    {
        if (ReadText(path) is not { } text) return null;
        long read = 0, write = 0;
        foreach (var line in text.Split('\n'))
            foreach (var pair in line.Split(' '))
            {
                if (pair.StartsWith("rbytes=", StringComparison.Ordinal)) read += Parse(pair[7..]);
                else if (pair.StartsWith("wbytes=", StringComparison.Ordinal)) write += Parse(pair[7..]);
            }
        return (read, write);
    }

    private static long? ReadNumber(string path) =>
        ReadText(path)?.Trim() is { } text && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    // "KEY VALUE" or "Key:   VALUE kB" lines: the first number after the key.
    private static long? ReadKey(string path, string key) => Key(ReadText(path), key);

    private static long? Key(string? text, string key)
    {
        if (text is null) return null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var rest = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length > 0 && long.TryParse(rest[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return value;
        }
        return null;
    }

    private static long Parse(string text) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    // The small /proc and cgroup files are read whole (each a few hundred bytes; the kernel bounds them, and so does ProcFs).
    private static string? ReadText(string path) => ProcFs.ReadText(path);
}
