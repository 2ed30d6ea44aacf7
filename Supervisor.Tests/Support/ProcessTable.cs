using System.Globalization;

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

    /// <summary>Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session.</summary>
    public static (char State, int Ppid, int Pgrp, int Session)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], Int(fields[1]), Int(fields[2]), Int(fields[3]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every live process whose process group is <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> InGroup(int pgid) =>
        AllPids().Where(pid => Stat(pid) is { } s && s.Pgrp == pgid && s.State != 'Z').ToList();

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

    public static IEnumerable<int> AllPids() =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(n => n!.All(char.IsAsciiDigit))
            .Select(n => Int(n!));

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}
