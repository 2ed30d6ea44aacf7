using System.Globalization;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Containment;

/// <summary>The cgroup v2 core files supd uses: cgroup.procs, cgroup.events, cgroup.kill; a directory per group.</summary>
internal static class CgroupFiles
{
    /// <summary>
    /// The process's cgroup v2 group as /proc/PID/cgroup's unified line names it, relative to the hierarchy's root
    /// (<c>/system.slice/supd.service/jobs/web.3</c>); null when it has none, or is gone.
    /// </summary>
    public static string? UnifiedGroupOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/cgroup").FirstOrDefault(l => l.StartsWith("0::/", StringComparison.Ordinal));
            return line?[3..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The pids in the group (cgroup.procs), at most <see cref="Limits.MaxPidsPerGroup"/>; empty when it is gone.</summary>
    public static List<int> Procs(string group)
    {
        var pids = new List<int>();
        try
        {
            foreach (var line in File.ReadLines(Path.Join(group, "cgroup.procs")))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0) pids.Add(pid);
                if (pids.Count >= Limits.MaxPidsPerGroup) break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return pids;
    }

    /// <summary>
    /// memory.events' <c>oom_kill</c>: processes of the group the OOM killer ended (its limit, or an ancestor's, ran
    /// out); 0 where the memory controller is not enabled for the group or it is gone.
    /// </summary>
    public static long OomKills(string group)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Join(group, "memory.events")))
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(9), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                    return count;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>cgroup.events says "populated 1" (a live process in it or below); false when it is gone.</summary>
    public static bool Populated(string group)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Join(group, "cgroup.events")))
                if (line.StartsWith("populated ", StringComparison.Ordinal)) return line.EndsWith('1');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>SIGKILL to every process of the group and below: cgroup.kill (Linux 5.14), else each pid in cgroup.procs.</summary>
    public static void Kill(string group)
    {
        if (Write(Path.Join(group, "cgroup.kill"), "1")) return;
        foreach (var pid in Procs(group)) Libc.Kill(pid, Signals.SIGKILL);
    }

    /// <summary>Sends a signal to each pid in cgroup.procs (what systemd's KillMode=control-group does before SIGKILL).</summary>
    public static void SignalEach(string group, int signal)
    {
        foreach (var pid in Procs(group)) Libc.Kill(pid, signal);
    }

    /// <summary>Moves a process (0: the writer itself) into the group.</summary>
    public static bool Join(string group, int pid, out string error)
    {
        error = "";
        try
        {
            File.WriteAllText(Path.Join(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>rmdir: true when the group is gone (or was never there).</summary>
    public static bool TryRemove(string group)
    {
        try
        {
            Directory.Delete(group, recursive: false);
            return true;
        }
        catch (DirectoryNotFoundException) { return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static bool Write(string path, string text) => TryWrite(path, text, out _);

    public static bool TryWrite(string path, string text, out string error)
    {
        error = "";
        try
        {
            File.WriteAllText(path, text);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>The controllers a group may use (cgroup.controllers); empty when it is gone.</summary>
    public static IReadOnlySet<string> Controllers(string group)
    {
        try
        {
            return File.ReadAllText(Path.Join(group, "cgroup.controllers")).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new HashSet<string>();
        }
    }

    /// <summary>
    /// A cgroup name for a unit: the job (and instance) name with every byte outside [A-Za-z0-9_-] as %XX (no '/',
    /// no "." or "..", nothing that looks like a control file), cut to a bounded length, and a number unique in supd.
    /// </summary>
    public static string Name(string unitName, long sequence)
    {
        var builder = new System.Text.StringBuilder();
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(unitName))
        {
            if (builder.Length >= Limits.MaxCgroupNameChars) break;
            var c = (char)b;
            if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-') builder.Append(c);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.Append('.').Append(sequence.ToString(CultureInfo.InvariantCulture)).ToString();
    }
}
