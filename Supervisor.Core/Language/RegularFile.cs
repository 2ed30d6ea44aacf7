using System.Text;
using Microsoft.Win32.SafeHandles;
using Supervisor.Core.Interop;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Language;

/// <summary>
/// Reads a job file or an <c>env-file</c>, which must be a regular file. <see cref="File.ReadAllText(string)"/> would
/// block forever on a FIFO named <c>x.conf</c> (open waits for a writer) and read a device like <c>/dev/zero</c> until
/// memory ran out: one stray file in a job dir hung supd's start-up or a reload, and an env-file (read on the loop, as
/// the job starts) would have frozen every job. Opening without blocking and checking what was opened (not what the
/// name pointed at a moment earlier) refuses both with a message.
/// </summary>
internal static unsafe class RegularFile
{
    /// <summary>Reads the whole file; one larger than <paramref name="maxBytes"/> (by fstat, before a byte is read) is refused.</summary>
    /// <exception cref="FileTooLargeException">The file is (or grows while read to) more than <paramref name="maxBytes"/>.</exception>
    /// <param name="readAs">Another user the file is read for (an env-file of a <c>setuid</c> job): it must be readable by that user too.</param>
    public static string ReadAllText(string path, long maxBytes, Credentials? readAs = null)
    {
        var bytes = ReadAllBytes(path, maxBytes, readAs);
        var text = bytes.AsSpan();
        if (text.StartsWith(Encoding.UTF8.Preamble)) text = text[Encoding.UTF8.Preamble.Length..];
        return Encoding.UTF8.GetString(text);
    }

    /// <inheritdoc cref="ReadAllText"/>
    public static byte[] ReadAllBytes(string path, long maxBytes, Credentials? readAs = null)
    {
        int fd;
        using (var native = new NativeString(path))
            fd = Libc.Open(native.Pointer, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw Failure(Errno.Last, path);
        using var handle = new SafeFileHandle(fd, ownsHandle: true);

        Libc.Statx stat;
        byte empty = 0;
        if (Libc.StatX(fd, &empty, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &stat) != 0) throw Failure(Errno.Last, path);
        if ((stat.Mode & Libc.S_IFMT) != Libc.S_IFREG) throw new IOException($"Not a regular file ({Kind(stat.Mode)})");
        if (readAs is not null && ReadableBy.Problem(fd, stat, readAs) is { } denied) throw new UnauthorizedAccessException(denied);

        // A sparse 1 GiB file costs its owner nothing and would cost supd 1 GiB (or an OutOfMemoryException).
        if (stat.Size > (ulong)maxBytes) throw new FileTooLargeException((long)Math.Min(stat.Size, long.MaxValue), maxBytes);

        // One buffer of the file's size (grown if the file grows meanwhile, never past the limit), then one decode.
        var bytes = new byte[(int)Math.Max(1, stat.Size) + 1];
        var length = 0;
        while (true)
        {
            var read = RandomAccess.Read(handle, bytes.AsSpan(length), length);
            if (read == 0) break;
            length += read;
            if (length > maxBytes) throw new FileTooLargeException(length, maxBytes);
            if (length == bytes.Length) Array.Resize(ref bytes, (int)Math.Min(bytes.Length * 2L, maxBytes + 1));
        }
        Array.Resize(ref bytes, length);
        return bytes;
    }

    private static Exception Failure(Errno errno, string path) => errno.Value switch
    {
        Errno.ENOENT => new FileNotFoundException(errno.Message, path),
        Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException(errno.Message),
        _ => new IOException(errno.Message),
    };

    private static string Kind(int mode) => (mode & Libc.S_IFMT) switch
    {
        Libc.S_IFDIR => "a directory",
        Libc.S_IFIFO => "a FIFO",
        Libc.S_IFCHR => "a character device",
        Libc.S_IFBLK => "a block device",
        Libc.S_IFSOCK => "a socket",
        _ => "file type 0" + Convert.ToString(mode & Libc.S_IFMT, 8),
    };
}

/// <summary>A file over its size limit: <c>too large (1 GiB &gt; 1 MiB)</c>.</summary>
public sealed class FileTooLargeException(long size, long limit)
    : IOException($"too large ({Limits.Bytes(size)} > {Limits.Bytes(limit)})")
{
    public long Size { get; } = size;
    public long Limit { get; } = limit;
}
