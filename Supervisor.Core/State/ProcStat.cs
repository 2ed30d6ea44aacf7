namespace Supervisor.Core.State;

/// <summary>The few /proc facts persisted goals need: a process's start time and state, and the boot id.</summary>
public static class ProcStat
{
    /// <summary>Start time (ticks after boot) and state letter of a process, or null when it does not exist.</summary>
    public static (ulong StartTime, char State)? Read(int pid) => Processes.ProcFs.Stat(pid) is { } info ? (info.StartTime, info.State) : null;

    /// <summary>True while the process with this pid is the one started at <paramref name="startTime"/> and is not a zombie.</summary>
    public static bool IsAlive(int pid, ulong startTime) => Read(pid) is { } stat && stat.StartTime == startTime && stat.State != 'Z';

    public static string BootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
