using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>Process calls: pidfds, waitid, kill, prctl, getpid/getuid.</summary>
internal static unsafe partial class Libc
{
    internal const int P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;
    internal const int WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
    internal const int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3;
    internal const int PR_SET_CHILD_SUBREAPER = 36;

    /// <summary>siginfo_t as waitid fills it for SIGCHLD (x86_64/arm64 layout: 128 bytes).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    internal struct SigInfo
    {
        [FieldOffset(0)] public int Signo;
        [FieldOffset(8)] public int Code;
        [FieldOffset(16)] public int Pid;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public int Status;
    }

    [LibraryImport(Name, EntryPoint = "pidfd_open", SetLastError = true)]
    internal static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport(Name, EntryPoint = "pidfd_send_signal", SetLastError = true)]
    internal static partial int PidfdSendSignal(int pidfd, int signal, void* info, uint flags);

    [LibraryImport(Name, EntryPoint = "waitid", SetLastError = true)]
    internal static partial int WaitId(int idType, int id, SigInfo* info, int options);

    [LibraryImport(Name, EntryPoint = "kill", SetLastError = true)]
    private static partial int KillUnchecked(int pid, int signal);

    /// <summary>
    /// kill(2), the one place supd sends a signal by number. A pid or process group of 0 or 1 (kill(0) is supd's own
    /// group, kill(-1) every process it may signal, 1 is init), or supd's own pid or group, is refused with EINVAL:
    /// a bad number from a state file or a bug must never take the machine or supd down.
    /// </summary>
    internal static int Kill(int pid, int signal)
    {
        if (!IsSignallable(pid))
        {
            Marshal.SetLastPInvokeError(Errno.EINVAL);
            return -1;
        }
        return KillUnchecked(pid, signal);
    }

    /// <summary>False for 0, ±1, supd's own pid and its own process group (as a negative pid).</summary>
    internal static bool IsSignallable(int pid) =>
        pid is < -1 or > 1 && pid != int.MinValue && Math.Abs(pid) != Environment.ProcessId && (pid > 0 || -pid != GetPgrp());

    [LibraryImport(Name, EntryPoint = "getpgrp")]
    private static partial int GetPgrp();

    [LibraryImport(Name, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Name, EntryPoint = "getpid")]
    internal static partial int GetPid();

    [LibraryImport(Name, EntryPoint = "getuid")]
    internal static partial uint GetUid();

    [LibraryImport(Name, EntryPoint = "geteuid")]
    internal static partial uint GetEuid();

    internal const int CLOCK_BOOTTIME = 7, _SC_CLK_TCK = 2;

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Name, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static partial int ClockGetTime(int clock, TimeSpec* result);

    [LibraryImport(Name, EntryPoint = "sysconf", SetLastError = true)]
    internal static partial long SysConf(int name);

    internal static readonly nint SIG_DFL = 0, SIG_ERR = -1;

    /// <summary>Sets a signal's disposition (only ever back to SIG_DFL: see <see cref="Processes.ChildSignalGuard"/>).</summary>
    [LibraryImport(Name, EntryPoint = "signal", SetLastError = true)]
    internal static partial nint Signal(int signal, nint handler);
}
