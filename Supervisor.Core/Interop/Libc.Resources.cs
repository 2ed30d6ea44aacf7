using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>Per-process resources: setrlimit/getrlimit, setpriority, umask.</summary>
internal static unsafe partial class Libc
{
    internal const int PRIO_PROCESS = 0;
    internal const ulong RLIM_INFINITY = ulong.MaxValue;

    // Linux resource numbers (the same on x86_64 and arm64).
    internal const int RLIMIT_CPU = 0, RLIMIT_FSIZE = 1, RLIMIT_DATA = 2, RLIMIT_STACK = 3, RLIMIT_CORE = 4,
        RLIMIT_RSS = 5, RLIMIT_NPROC = 6, RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8, RLIMIT_AS = 9,
        RLIMIT_SIGPENDING = 11, RLIMIT_MSGQUEUE = 12, RLIMIT_NICE = 13, RLIMIT_RTPRIO = 14;

    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport(Name, EntryPoint = "setrlimit", SetLastError = true)]
    internal static partial int SetRLimit(int resource, RLimit* limit);

    [LibraryImport(Name, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(Name, EntryPoint = "setpriority", SetLastError = true)]
    internal static partial int SetPriority(int which, uint who, int priority);

    [LibraryImport(Name, EntryPoint = "umask")]
    internal static partial uint Umask(uint mask);
}
