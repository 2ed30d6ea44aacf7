using System.Globalization;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// A running job's figures the way <c>systemctl status</c> writes them: <c>Tasks: 3</c>, <c>Memory: 1.5M (peak: 2.0M)</c>,
/// <c>CPU: 1.234s</c>, <c>IO: 12.0K read, 4.0K written</c>; and the <c>supctl top</c> table.
/// </summary>
internal static class ResourcesFormatter
{
    /// <summary>show's rows (label, value).</summary>
    public static IEnumerable<(string Label, string Value)> Rows(Resources r)
    {
        yield return ("Tasks", r.Tasks.ToString(CultureInfo.InvariantCulture));
        yield return ("Memory", r.MemoryPeakBytes > 0 ? $"{Size(r.MemoryBytes)} (peak: {Size(r.MemoryPeakBytes)})" : Size(r.MemoryBytes));
        yield return ("CPU", Cpu(r.CpuUsec));
        if (r.HasIo) yield return ("IO", $"{Size(r.IoReadBytes)} read, {Size(r.IoWriteBytes)} written");
    }

    /// <summary>Bytes as systemd writes them: B, K, M, G, T with one decimal from K on.</summary>
    public static string Size(long bytes)
    {
        if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture) + "B";
        string[] units = ["K", "M", "G", "T"];
        double value = bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return value.ToString("0.0", CultureInfo.InvariantCulture) + units[unit];
    }

    /// <summary>CPU time as systemd writes it: 87ms, 1.234s, 2min 3.456s, 1h 2min.</summary>
    public static string Cpu(long usec)
    {
        var ms = usec / 1000;
        if (ms < 1000) return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        var time = TimeSpan.FromMilliseconds(ms);
        if (time.TotalMinutes < 1) return (ms / 1000.0).ToString("0.000", CultureInfo.InvariantCulture) + "s";
        if (time.TotalHours < 1) return $"{(int)time.TotalMinutes}min {(time.Seconds + time.Milliseconds / 1000.0).ToString("0.000", CultureInfo.InvariantCulture)}s";
        return $"{(int)time.TotalHours}h {time.Minutes}min";
    }

    /// <summary>One row of <c>supctl top</c>.</summary>
    public sealed record TopRow(string Name, string State, int Pid, double? CpuPercent, Resources? Resources, int Restarts, TimeSpan? Uptime);

    public static IEnumerable<string> Table(IReadOnlyList<TopRow> rows)
    {
        var width = Math.Max(3, rows.Count == 0 ? 3 : rows.Max(r => r.Name.Length));
        yield return $"{"JOB".PadRight(width)}  {"STATE",-16} {"PID",8} {"CPU%",6} {"MEMORY",8} {"TASKS",5} {"RESTARTS",8}  UPTIME";
        foreach (var row in rows)
        {
            var cpu = row.CpuPercent is { } p ? p.ToString("0.0", CultureInfo.InvariantCulture) : "-";
            var memory = row.Resources is { } r ? Size(r.MemoryBytes) : "-";
            var tasks = row.Resources is { } t ? t.Tasks.ToString(CultureInfo.InvariantCulture) : "-";
            var pid = row.Pid > 0 ? row.Pid.ToString(CultureInfo.InvariantCulture) : "-";
            var uptime = row.Uptime is { } u ? Uptime(u) : "-";
            yield return $"{row.Name.PadRight(width)}  {row.State,-16} {pid,8} {cpu,6} {memory,8} {tasks,5} {row.Restarts,8}  {uptime}";
        }
    }

    private static string Uptime(TimeSpan t) =>
        t.TotalDays >= 1 ? $"{(int)t.TotalDays}d {t.Hours}h" : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}min"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}min {t.Seconds}s" : $"{(int)t.TotalSeconds}s";
}
