using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>posix_spawn and its attribute/file-action helpers (glibc ≥ 2.34 for addclosefrom_np).</summary>
internal static unsafe partial class Libc
{
    // glibc x86_64/arm64 sizes are 336 (attr), 80 (file actions), 128 (sigset); allocate with headroom.
    internal const int SpawnAttrSize = 512, FileActionsSize = 256, SigSetSize = 128;

    internal const short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08,
        POSIX_SPAWN_SETSID = 0x80;

    internal const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    /// <summary>Returns an error number (does not set errno).</summary>
    [LibraryImport(Name, EntryPoint = "posix_spawn")]
    internal static partial int PosixSpawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_init")]
    internal static partial int SpawnAttrInit(void* attr);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_destroy")]
    internal static partial int SpawnAttrDestroy(void* attr);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setflags")]
    internal static partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setsigmask")]
    internal static partial int SpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport(Name, EntryPoint = "posix_spawnattr_setsigdefault")]
    internal static partial int SpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_init")]
    internal static partial int FileActionsInit(void* fileActions);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static partial int FileActionsDestroy(void* fileActions);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addopen")]
    internal static partial int FileActionsAddOpen(void* fileActions, int fd, byte* path, int flags, uint mode);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static partial int FileActionsAddDup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addchdir_np")]
    internal static partial int FileActionsAddChdir(void* fileActions, byte* path);

    [LibraryImport(Name, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    internal static partial int FileActionsAddCloseFrom(void* fileActions, int from);

    [LibraryImport(Name, EntryPoint = "sigemptyset")]
    internal static partial int SigEmptySet(void* sigset);

    [LibraryImport(Name, EntryPoint = "sigfillset")]
    internal static partial int SigFillSet(void* sigset);

    /// <summary>syscall(2) with up to four arguments (the exec helper's rt_sigaction: glibc's own refuses its signals 32 and 33).</summary>
    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long a, long b, long c, long d);

    [LibraryImport(Name, EntryPoint = "pthread_sigmask")]
    internal static partial int PthreadSigMask(int how, void* set, void* old);

    /// <summary>
    /// What every process supd starts gets: a session of its own (supd's process group and terminal signals never reach
    /// it), no signal blocked and every signal at its default (supd's own mask and handlers are not its).
    /// <paramref name="mask"/> and <paramref name="defaults"/> are the caller's <see cref="SigSetSize"/> buffers.
    /// </summary>
    internal static void SpawnAttrNewSessionCleanSignals(void* attr, void* mask, void* defaults)
    {
        SigEmptySet(mask);
        SigFillSet(defaults);
        SpawnAttrSetSigMask(attr, mask);
        SpawnAttrSetSigDefault(attr, defaults);
        SpawnAttrSetFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
}
