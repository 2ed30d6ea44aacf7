using Supervisor.Core.Processes;

namespace Supervisor.Tests.Support;

/// <summary>Reads /proc to see which processes exist, their groups and their children.</summary>
public static class ProcessTable
{
    public static bool IsAlive(int pid)
    {
        // A zombie has exited; only its parent's reaping is pending.
        var stat = Stat(pid);
        return stat is not null && stat.Value.State != 'Z';
    }

    /// <summary>State, parent, group and session from /proc/PID/stat (supd's own reader); null when the process is gone.</summary>
    public static ProcessInfo? Stat(int pid) => ProcFs.Stat(pid);

    /// <summary>The program the process runs (/proc/PID/comm, without its newline); null when it is gone.</summary>
    public static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the process runs <paramref name="program"/>: a spawn returns before the exec, and a daemon that an
    /// expect follows is adopted as soon as its fork leaves it behind, while it is still the shell that forked it (on
    /// a busy machine the status reply came first, and /proc said "sh": a CI failure).
    /// </summary>
    public static Task WaitForProgramAsync(int pid, string program, string what) =>
        Eventually.TrueAsync(() => Comm(pid) == program, $"{what} (pid {pid}) to run {program}");

    /// <summary>Every live process whose process group is <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> InGroup(int pgid) =>
        AllPids().Where(pid => Stat(pid) is { } s && s.ProcessGroup == pgid && s.State != 'Z').ToList();

    /// <summary>Every process whose environment carries <paramref name="marker"/> (a test's unique tag).</summary>
    public static IReadOnlyList<int> WithEnvironment(string marker) =>
        AllPids().Where(pid =>
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/environ").Contains(marker, StringComparison.Ordinal) && IsAlive(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }).ToList();

    /// <summary>Every live descendant of <paramref name="pid"/> (children, their children…), from one read of /proc.</summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var p in AllPids())
            if (Stat(p) is { State: not 'Z' } s)
                (children.TryGetValue(s.ParentPid, out var list) ? list : children[s.ParentPid] = []).Add(p);
        var found = new List<int>();
        var next = new Queue<int>([pid]);
        while (next.TryDequeue(out var parent) && found.Count < 100_000)
            foreach (var child in children.GetValueOrDefault(parent) ?? [])
            {
                found.Add(child);
                next.Enqueue(child);
            }
        return found;
    }

    public static IEnumerable<int> AllPids() => ProcFs.Pids();
}
