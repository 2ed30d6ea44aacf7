using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// A file opened O_APPEND for one writer (a job log), written with write(2) directly so a failure (ENOSPC, EPERM, EIO)
/// says exactly how many bytes reached the file, plus the few path calls rotation needs. Not thread-safe: its owner
/// serialises access.
/// </summary>
internal sealed unsafe class AppendFile : IDisposable
{
    private int _fd;

    private AppendFile(int fd, long size, FileIdentity identity)
    {
        _fd = fd;
        Size = size;
        Identity = identity;
    }

    /// <summary>Bytes in the file: its size at open plus what was written since.</summary>
    public long Size { get; private set; }

    public FileIdentity Identity { get; }

    /// <summary>
    /// Opens (creating with <paramref name="mode"/>, 0640 for logs) <paramref name="path"/> for appending, through
    /// <see cref="NoFollowFile"/>: a symlink at the path is refused, never written through.
    /// </summary>
    public static AppendFile? Open(string path, int mode, out string problem)
    {
        var fd = NoFollowFile.Open(path, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT, mode, out problem, out _);
        if (fd < 0) return null;
        Libc.Statx stat;
        if (Libc.StatX(fd, EmptyPath, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &stat) != 0)
        {
            problem = Errno.Last.Message;
            Libc.Close(fd);
            return null;
        }
        problem = "";
        return new AppendFile(fd, (long)stat.Size, new FileIdentity(stat.DevMajor, stat.DevMinor, stat.Inode));
    }

    /// <summary>Writes all of <paramref name="data"/>; on failure returns how much was written and the error.</summary>
    public int Write(ReadOnlySpan<byte> data, out Errno error)
    {
        error = default;
        var done = 0;
        fixed (byte* start = data)
        {
            while (done < data.Length)
            {
                var n = Libc.Write(_fd, start + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    var e = Errno.Last;
                    if (e.Value == Errno.EINTR) continue;
                    error = e;
                    break;
                }
                if (n == 0)
                {
                    error = new Errno(Errno.ENOSPC);
                    break;
                }
                done += (int)n;
            }
        }
        Size += done;
        return done;
    }

    /// <summary>The identity of whatever <paramref name="path"/> names now (a symlink itself, not its target), or null when nothing does.</summary>
    public static FileIdentity? IdentityOf(string path)
    {
        using var native = new NativeString(path);
        Libc.Statx stat;
        if (Libc.StatX(Libc.AT_FDCWD, native.Pointer, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &stat) != 0) return null;
        return new FileIdentity(stat.DevMajor, stat.DevMinor, stat.Inode);
    }

    /// <summary>The identity of an open file (a reader's handle), or null when it cannot be read.</summary>
    public static FileIdentity? IdentityOf(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            Libc.Statx stat;
            if (Libc.StatX((int)handle.DangerousGetHandle(), EmptyPath, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &stat) != 0) return null;
            return new FileIdentity(stat.DevMajor, stat.DevMinor, stat.Inode);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>rename(2); a missing source is not an error (nothing to move).</summary>
    public static bool Rename(string from, string to, out Errno error)
    {
        using var a = new NativeString(from);
        using var b = new NativeString(to);
        if (Libc.Rename(a.Pointer, b.Pointer) == 0)
        {
            error = default;
            return true;
        }
        error = Errno.Last;
        return error.Value == Errno.ENOENT;
    }

    /// <summary>unlink(2); a missing file is not an error.</summary>
    public static bool Delete(string path, out Errno error)
    {
        using var native = new NativeString(path);
        if (Libc.Unlink(native.Pointer) == 0)
        {
            error = default;
            return true;
        }
        error = Errno.Last;
        return error.Value == Errno.ENOENT;
    }

    // A NUL-terminated empty string for AT_EMPTY_PATH, allocated once for the life of the process.
    private static readonly byte* EmptyPath = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1);

    public void Dispose()
    {
        if (_fd < 0) return;
        Libc.Close(_fd);
        _fd = -1;
    }
}

/// <summary>Device and inode: tells whether a path still names the file we have open.</summary>
internal readonly record struct FileIdentity(uint DevMajor, uint DevMinor, ulong Inode);
