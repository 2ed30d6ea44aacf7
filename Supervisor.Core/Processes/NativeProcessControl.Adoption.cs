using System.Globalization;
using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

// expect fork/daemon without ptrace: the daemon a job's first process leaves behind is re-parented to supd (a child
// subreaper). Where the start has a cgroup, it is one of the cgroup's processes (nothing else can be in it: only root
// writes cgroup.procs, and whatever the job forks starts inside); without one, it carries the job's tag in its
// environment and is found through /proc. Either way it is tracked by pidfd from then on.
public sealed partial class NativeProcessControl
{
    public ProcessInfo? Inspect(int pid) => ProcFs.Stat(pid);

    public IReadOnlyList<int> FindAdopted(string key, string value, ulong startedNotBefore)
    {
        var self = Environment.ProcessId;
        // The start's cgroup, when it has one (the unit's key is its tag): its few pids rather than every process on
        // the machine, and a daemon that cleared its environment is found all the same.
        var group = key == Events.EventIds.ProcessVariables.SupdTag ? Containment.Group(value) : null;
        var needle = Encoding.UTF8.GetBytes($"{key}={value}\0");
        var found = new List<int>();
        foreach (var pid in group is not null ? Processes.Containment.CgroupFiles.Procs(group) : ProcFs.Pids())
        {
            if (ProcFs.Stat(pid) is not { } info || info.ParentPid != self || info.State == 'Z') continue;
            if (info.StartTime < startedNotBefore) continue; // older than the job's first process: planted, not its daemon
            if (_reaper.Owns(pid)) continue;
            if (group is not null || ProcFs.EnvironmentContains(pid, needle)) found.Add(pid);
        }
        return found;
    }

    public bool Adopt(int pid) => _reaper.Adopt(pid);

    public bool AdoptForeign(int pid) => _reaper.AdoptForeign(pid);
}

/// <summary>The few /proc reads supd needs.</summary>
internal static class ProcFs
{
    public static IEnumerable<int> Pids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) yield return pid;
        }
    }

    /// <summary>/proc/PID/stat after the command name: state, ppid, pgrp, session, and starttime (field 22).</summary>
    public static ProcessInfo? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return new ProcessInfo(fields[0][0], Int(fields[1]), Int(fields[2]), Int(fields[3]),
                ulong.Parse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>/proc/PID/cmdline as one line (arguments joined by spaces), or null when the process is gone.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            var bytes = File.ReadAllBytes($"/proc/{pid}/cmdline");
            // One line: arguments joined by spaces, a script's newlines and tabs shown as spaces.
            var text = new string(System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0').Select(c => char.IsControl(c) ? ' ' : c).ToArray());
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The value of the first environment entry starting with <paramref name="prefix"/> (<c>KEY=</c>), or null.</summary>
    public static string? EnvironmentValue(int pid, byte[] prefix)
    {
        try
        {
            var environ = File.ReadAllBytes($"/proc/{pid}/environ").AsSpan();
            while (environ.Length > 0)
            {
                var end = environ.IndexOf((byte)0);
                var entry = end < 0 ? environ : environ[..end];
                if (entry.StartsWith(prefix)) return Encoding.UTF8.GetString(entry[prefix.Length..]);
                if (end < 0) break;
                environ = environ[(end + 1)..];
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static bool EnvironmentContains(int pid, byte[] entry)
    {
        try
        {
            var environ = File.ReadAllBytes($"/proc/{pid}/environ");
            // Entries are NUL-terminated; match at the start of the block or after a NUL.
            var span = environ.AsSpan();
            var index = span.IndexOf(entry);
            while (index >= 0)
            {
                if (index == 0 || span[index - 1] == 0) return true;
                var next = span[(index + 1)..].IndexOf(entry);
                index = next < 0 ? -1 : index + 1 + next;
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// CLOCK_BOOTTIME in USER_HZ ticks, rounded down: the kernel derives a process's starttime from the same clock
    /// (its boot time at fork), so a process forked after this call never shows a smaller starttime.
    /// </summary>
    public static unsafe ulong ClockTicksSinceBoot()
    {
        Libc.TimeSpec now;
        if (Libc.ClockGetTime(Libc.CLOCK_BOOTTIME, &now) != 0) return 0;
        var hz = (ulong)Math.Max(1, Libc.SysConf(Libc._SC_CLK_TCK));
        return (ulong)now.Seconds * hz + (ulong)now.Nanoseconds * hz / 1_000_000_000UL;
    }

    private static int Int(string s) => int.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
