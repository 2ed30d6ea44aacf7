using Microsoft.Win32.SafeHandles;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Opens a file supd reads or writes as root (job logs, supd.log, the state file, the socket's lock) the safe way:
/// its directory first (<c>O_PATH|O_DIRECTORY</c>; the directory itself is supd's configuration and checked at
/// start-up), then the name relative to that directory fd with <c>O_NOFOLLOW</c>, and only a regular file is kept. A
/// symlink planted at the name (<c>LOGDIR/web.log -> /etc/shadow</c>) is refused, never read and never written
/// through; a FIFO or a device is refused without blocking.
/// </summary>
public static unsafe class NoFollowFile
{
    /// <summary>An fd for <paramref name="path"/>, or -1 with a one-line reason ("is a symbolic link (not followed)").</summary>
    /// <param name="flags">O_RDONLY, O_WRONLY|O_APPEND|O_CREAT…; O_NOFOLLOW, O_CLOEXEC and O_NONBLOCK are added.</param>
    internal static int Open(string path, int flags, int mode, out string problem, out Errno error)
    {
        var directory = Path.GetDirectoryName(path);
        var name = Path.GetFileName(path);
        problem = "";
        error = default;
        if (string.IsNullOrEmpty(directory) || string.IsNullOrEmpty(name))
        {
            error = new Errno(Errno.EINVAL);
            problem = error.Message;
            return -1;
        }
        int dirFd;
        using (var native = new NativeString(directory))
            dirFd = Libc.Open(native.Pointer, Libc.O_PATH | Libc.O_DIRECTORY_FLAG | Libc.O_CLOEXEC, 0);
        if (dirFd < 0)
        {
            error = Errno.Last;
            problem = $"{directory}: {error.Message}";
            return -1;
        }
        int fd;
        try
        {
            using var native = new NativeString(name);
            fd = Libc.OpenAt(dirFd, native.Pointer, flags | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NONBLOCK, mode);
            if (fd < 0) error = Errno.Last;
        }
        finally
        {
            Libc.Close(dirFd);
        }
        if (fd < 0)
        {
            problem = error.Value == Libc.ELOOP ? "is a symbolic link (not followed)" : error.Message;
            return -1;
        }
        Libc.Statx stat;
        problem = Libc.StatX(fd, Empty, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &stat) != 0 ? Errno.Last.Message
            : (stat.Mode & Libc.S_IFMT) != Libc.S_IFREG ? "is not a regular file"
            // Only files supd made: one planted by another user in a sticky directory, or a second name (hard link)
            // for a file elsewhere, is neither read nor written.
            : stat.Uid != Libc.GetEuid() ? $"is owned by uid {stat.Uid}, not by supd (uid {Libc.GetEuid()})"
            : stat.NLink > 1 ? $"has {stat.NLink} hard links (only a file of its own is used)"
            : "";
        if (problem.Length > 0)
        {
            Libc.Close(fd);
            error = new Errno(Errno.EINVAL);
            return -1;
        }
        // Back to blocking I/O for a regular file (O_NONBLOCK only kept a FIFO from hanging the open).
        Libc.Fcntl(fd, Libc.F_SETFL, Libc.Fcntl(fd, Libc.F_GETFL, 0) & ~Libc.O_NONBLOCK);
        return fd;
    }

    /// <summary>
    /// A read-only stream on <paramref name="path"/>; null when nothing is there. Anything else that stops it (a
    /// symlink, not a regular file, permissions) is an <see cref="IOException"/> naming the path.
    /// </summary>
    public static FileStream? OpenRead(string path)
    {
        var fd = Open(path, Libc.O_RDONLY, 0, out var problem, out var error);
        if (fd < 0)
        {
            if (error.Value == Errno.ENOENT) return null;
            throw new IOException($"{path}: {problem}");
        }
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    /// <summary>Sets the mode of an existing regular file (not through a symlink); false when it is missing or cannot be.</summary>
    public static bool Chmod(string path, int mode)
    {
        var fd = Open(path, Libc.O_RDONLY, 0, out _, out _);
        if (fd < 0) return false;
        try
        {
            return Libc.FChmod(fd, mode) == 0;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>
    /// Opens (creating with <paramref name="mode"/>) <paramref name="path"/> and takes an exclusive flock on it: the
    /// single-instance lock beside the socket. Null when another process holds the lock; an
    /// <see cref="IOException"/> naming the path when it cannot be opened (a symlink, not a regular file…).
    /// </summary>
    public static SafeFileHandle? OpenLocked(string path, int mode)
    {
        var fd = Open(path, Libc.O_RDWR | Libc.O_CREAT, mode, out var problem, out _);
        if (fd < 0) throw new IOException($"{path}: {problem}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Libc.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == 0) return handle;
        var error = Errno.Last;
        handle.Dispose();
        if (error.Value == Libc.EWOULDBLOCK) return null;
        throw new IOException($"{path}: {error.Message}");
    }

    /// <summary>
    /// Creates <paramref name="path"/> anew with <paramref name="mode"/> (a stale one is removed first; O_EXCL, so
    /// nothing planted in between is opened) and returns a writable stream.
    /// </summary>
    public static FileStream Create(string path, int mode)
    {
        using (var native = new NativeString(path)) Libc.Unlink(native.Pointer);
        var fd = Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL, mode, out var problem, out _);
        if (fd < 0) throw new IOException($"{path}: {problem}");
        // The mode asked for, whatever the umask.
        Libc.FChmod(fd, mode);
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>
    /// Why supd must not use <paramref name="directory"/> (null when it may): writable by group or others, unless sticky
    /// and owned by supd's user; owned by another user than root or supd's; or below a directory that others can
    /// write without the sticky bit, or that another user owns. Whoever can write there can plant a symlink or a
    /// file for supd to open as root, or replace supd's socket.
    /// </summary>
    public static string? UnsafeDirectory(string directory)
    {
        var euid = Libc.GetEuid();
        var path = Path.GetFullPath(directory);
        for (var current = path; current is not null; current = Path.GetDirectoryName(current))
        {
            Libc.Statx stat;
            using (var native = new NativeString(current))
                if (Libc.StatX(Libc.AT_FDCWD, native.Pointer, 0, Libc.STATX_BASIC_STATS, &stat) != 0)
                    return $"{current}: {Errno.Last.Message}";
            var mode = stat.Mode & 0xFFF;
            var sticky = (mode & 0x200) != 0;
            var octal = "0" + Convert.ToString(mode, 8);
            if (stat.Uid != 0 && stat.Uid != euid)
                return $"{current} is owned by uid {stat.Uid}, not by root or supd's user (uid {euid})";
            if (current == path)
            {
                if ((mode & 0x12) != 0 && !(sticky && stat.Uid == euid))
                    return $"{current} is writable by {(mode & 0x12) switch { 0x12 => "group and others", 0x10 => "group", _ => "others" }} (mode {octal}); chmod go-w it";
            }
            else if ((mode & 0x2) != 0 && !sticky)
            {
                return $"{current} is writable by others without the sticky bit (mode {octal})";
            }
        }
        return null;
    }

    private static readonly byte* Empty = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1);
}
