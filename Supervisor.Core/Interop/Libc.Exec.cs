using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>What the exec helper needs last: chroot, chdir, fcntl (close-on-exec), execve, _exit.</summary>
internal static unsafe partial class Libc
{
    internal const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    [LibraryImport(Name, EntryPoint = "chroot", SetLastError = true)]
    internal static partial int Chroot(byte* path);

    [LibraryImport(Name, EntryPoint = "chdir", SetLastError = true)]
    internal static partial int Chdir(byte* path);

    [LibraryImport(Name, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int command, int argument);

    /// <summary>Returns only on failure.</summary>
    [LibraryImport(Name, EntryPoint = "execve", SetLastError = true)]
    internal static partial int Execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Name, EntryPoint = "_exit")]
    internal static partial void Exit(int status);
}
