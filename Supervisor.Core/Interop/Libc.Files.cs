using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>File calls for the job logs and job files: open, rename, unlink, statx, fcntl (pipe size).</summary>
internal static unsafe partial class Libc
{
    internal const int O_CREAT = 0x40, O_APPEND = 0x400;
    internal const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_BASIC_STATS = 0x7ff;
    internal const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFIFO = 0x1000, S_IFCHR = 0x2000,
        S_IFBLK = 0x6000, S_IFSOCK = 0xC000;
    internal const int F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;

    /// <summary>
    /// struct statx (linux/stat.h): the same layout on every architecture, 256 bytes; only the fields used are named.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(16)] public uint NLink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport(Name, EntryPoint = "open", SetLastError = true)]
    internal static partial int Open(byte* path, int flags, int mode);

    [LibraryImport(Name, EntryPoint = "rename", SetLastError = true)]
    internal static partial int Rename(byte* from, byte* to);

    [LibraryImport(Name, EntryPoint = "unlink", SetLastError = true)]
    internal static partial int Unlink(byte* path);

    [LibraryImport(Name, EntryPoint = "statx", SetLastError = true)]
    internal static partial int StatX(int dirFd, byte* path, int flags, uint mask, Statx* result);
}

/// <summary>Opening below a directory fd without following a symlink (files supd opens as root).</summary>
internal static unsafe partial class Libc
{
    // Architecture-specific open(2) flags: arm64 (asm-generic) differs from x86_64 for these two.
    internal static readonly int O_NOFOLLOW =
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;
    internal static readonly int O_DIRECTORY_FLAG =
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
    internal const int O_PATH = 0x200000, O_EXCL = 0x80, O_TRUNC = 0x200;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int ELOOP = 40;

    [LibraryImport(Name, EntryPoint = "openat", SetLastError = true)]
    internal static partial int OpenAt(int dirFd, byte* path, int flags, int mode);

    [LibraryImport(Name, EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int FChmod(int fd, int mode);

    internal const int LOCK_EX = 2, LOCK_NB = 4, EWOULDBLOCK = 11;

    [LibraryImport(Name, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);

    [LibraryImport(Name, EntryPoint = "unlinkat", SetLastError = true)]
    internal static partial int UnlinkAt(int dirFd, byte* path, int flags);
}
