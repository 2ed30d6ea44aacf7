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
    internal static partial int Kill(int pid, int signal);

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
