using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>What a re-exec needs: a memfd for the state, lseek to rewind it, the signal mask reset before execve.</summary>
internal static unsafe partial class Libc
{
    internal const int SEEK_SET = 0;
    internal const int SIG_SETMASK = 2;
    internal const uint MFD_CLOEXEC = 1;

    [LibraryImport(Name, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Name, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport(Name, EntryPoint = "pthread_sigmask", SetLastError = true)]
    internal static partial int PthreadSigmask(int how, byte* set, byte* oldSet);

    /// <summary>Sets or clears FD_CLOEXEC; false when the fd is not open.</summary>
    internal static bool SetCloseOnExec(int fd, bool closeOnExec)
    {
        var flags = Fcntl(fd, F_GETFD, 0);
        if (flags < 0) return false;
        return Fcntl(fd, F_SETFD, closeOnExec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) == 0;
    }
}
