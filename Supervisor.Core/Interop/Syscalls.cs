using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>
/// Linux system call numbers, for the fork server's child (<see cref="Processes.Forking.ForkChild"/>), which may call
/// nothing but syscall(2) between its clone and its execve. x86_64's own table and the generic one arm64 uses
/// (asm/unistd_64.h and asm-generic/unistd.h); no other architecture has a fork server.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Syscalls
{
    public long Clone, Execve, ExitGroup, Write, OpenAt, Close, Dup3, CloseRange, SetSid, RtSigaction, RtSigprocmask,
        Umask, SetPriority, Chroot, Chdir, SetGroups, SetGid, SetUid, Prlimit64, GetPid, Prctl;

    /// <summary>This machine's numbers; false on an architecture without a table here.</summary>
    public static bool ForThisMachine(out Syscalls numbers)
    {
        switch (RuntimeInformation.ProcessArchitecture)
        {
            case Architecture.X64:
                numbers = new Syscalls
                {
                    Clone = 56, Execve = 59, ExitGroup = 231, Write = 1, OpenAt = 257, Close = 3, Dup3 = 292,
                    CloseRange = 436, SetSid = 112, RtSigaction = 13, RtSigprocmask = 14, Umask = 95, SetPriority = 141,
                    Chroot = 161, Chdir = 80, SetGroups = 116, SetGid = 106, SetUid = 105, Prlimit64 = 302, GetPid = 39,
                    Prctl = 157,
                };
                return true;
            case Architecture.Arm64:
                numbers = new Syscalls
                {
                    Clone = 220, Execve = 221, ExitGroup = 94, Write = 64, OpenAt = 56, Close = 57, Dup3 = 24,
                    CloseRange = 436, SetSid = 157, RtSigaction = 134, RtSigprocmask = 135, Umask = 166, SetPriority = 140,
                    Chroot = 51, Chdir = 49, SetGroups = 159, SetGid = 144, SetUid = 146, Prlimit64 = 261, GetPid = 172,
                    Prctl = 167,
                };
                return true;
            default:
                numbers = default;
                return false;
        }
    }
}
