using System.Buffers;
using System.Globalization;
using System.IO.Enumeration;
using System.Text;
using System.Text.Unicode;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// The few /proc reads supd needs. Small files are read with open, read and close into a buffer of ours: File's
/// readers add an fstat and an flock to each file, and a <c>status</c> or <c>top</c> while a thousand jobs run reads
/// thousands of them (a scan of /proc took ~25 ms of supd's CPU that way with 1 000 jobs; docs/BENCHMARKS.md).
/// </summary>
internal static class ProcFs
{
    // One /proc/PID/stat line: "pid (comm) " and 50 numbers; comm is at most 16 bytes.
    private const int StatLineBytes = 1024;

    /// <summary>True where the kernel lists a thread's children (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN).</summary>
    public static readonly bool HasChildrenLists = File.Exists($"/proc/{Environment.ProcessId}/task/{Environment.ProcessId}/children");

    public static List<int> Pids() => Numbered("/proc");

    /// <summary>The numbered entries of a directory: /proc's pids, /proc/PID/task's thread ids. None when it is gone.</summary>
    public static List<int> Numbered(string directory)
    {
        var numbers = new List<int>();
        try
        {
            var entries = new FileSystemEnumerable<int>(directory, static (ref FileSystemEntry entry) =>
                int.TryParse(entry.FileName, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0,
                new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 })
            {
                ShouldIncludePredicate = static (ref FileSystemEntry entry) => entry.IsDirectory && entry.FileName.Length > 0 && char.IsAsciiDigit(entry.FileName[0]),
            };
            foreach (var n in entries)
                if (n > 0) numbers.Add(n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return numbers;
    }

    /// <summary>/proc/PID/stat's state, parent, process group, session and start time; null when the process is gone.</summary>
    public static ProcessInfo? Stat(int pid) => StatFields(pid) is { } s ? s.Info : null;

    /// <summary>Every field of /proc/PID/stat supd reads; null when the process is gone.</summary>
    public static StatLine? StatFields(int pid)
    {
        Span<byte> buffer = stackalloc byte[StatLineBytes];
        var length = Read(pid, "stat", buffer);
        return length < 0 ? null : StatLine.Parse(buffer[..length]);
    }

    /// <summary>The same from a stat file's path (a fake /proc in tests); null when it cannot be read or parsed.</summary>
    public static StatLine? StatFields(string statPath)
    {
        Span<byte> buffer = stackalloc byte[StatLineBytes];
        var length = Read(statPath, buffer);
        return length < 0 ? null : StatLine.Parse(buffer[..length]);
    }

    /// <summary>/proc/PID/cmdline as one line (arguments joined by spaces), or null when the process is gone.</summary>
    public static string? CommandLine(int pid)
    {
        var text = ReadText($"/proc/{pid}/cmdline");
        if (text is null) return null;
        // One line: arguments joined by spaces, a script's newlines and tabs shown as spaces.
        text = string.Create(text.TrimEnd('\0').Length, text, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        });
        return text.Length == 0 ? null : text;
    }

    /// <summary>
    /// Adds the children of every thread of <paramref name="pid"/> to <paramref name="children"/>: true when they
    /// were read (none when the process is gone), false when one thread's list is longer than
    /// <see cref="Limits.MaxChildrenListBytes"/>.
    /// </summary>
    public static bool Children(int pid, List<int> children)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Limits.MaxChildrenListBytes);
        try
        {
            foreach (var thread in Numbered($"/proc/{pid}/task"))
            {
                var length = Read($"/proc/{pid}/task/{thread}/children", buffer.AsSpan(0, Limits.MaxChildrenListBytes));
                if (length == Limits.MaxChildrenListBytes) return false;
                if (length <= 0) continue;
                foreach (var range in buffer.AsSpan(0, length).Split((byte)' '))
                    if (System.Buffers.Text.Utf8Parser.TryParse(buffer.AsSpan(0, length)[range], out int child, out _) && child > 0) children.Add(child);
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The value of the first entry of /proc/PID/environ starting with <paramref name="prefix"/> (<c>KEY=</c>) whose
    /// value is at most <see cref="Limits.MaxEnvironValueBytes"/>, or null (<see cref="ScanEnvironment"/>).
    /// </summary>
    public static string? EnvironmentValue(int pid, byte[] prefix)
    {
        string? found = null;
        ScanEnvironment(pid, prefix, value =>
        {
            found = Encoding.UTF8.GetString(value);
            return true;
        });
        return found;
    }

    /// <summary>True when /proc/PID/environ has the entry <paramref name="key"/> (<c>KEY=</c>) followed by <paramref name="value"/>.</summary>
    public static bool EnvironmentContains(int pid, byte[] key, byte[] value) =>
        value.Length <= Limits.MaxEnvironValueBytes && ScanEnvironment(pid, key, candidate => candidate.SequenceEqual(value));

    /// <summary>
    /// Reads /proc/PID/environ an entry at a time through a pooled buffer and calls <paramref name="match"/> with the
    /// value of each NUL-terminated entry that starts with <paramref name="prefix"/>, until it returns true (then
    /// true). The process's environment is its own to fill (a job's descendants write it): at most
    /// <see cref="Limits.MaxEnvironScanBytes"/> of it is read, and a value over
    /// <see cref="Limits.MaxEnvironValueBytes"/> is skipped, never held. False when the process is gone or unreadable.
    /// </summary>
    private static bool ScanEnvironment(int pid, ReadOnlySpan<byte> prefix, Func<ReadOnlySpan<byte>, bool> match)
    {
        var fd = OpenProc(pid, "environ");
        if (fd < 0) return false;
        var chunk = ArrayPool<byte>.Shared.Rent(EnvironChunkBytes);
        var value = ArrayPool<byte>.Shared.Rent(Limits.MaxEnvironValueBytes);
        try
        {
            // Where the entry being read stands: matched bytes of the prefix, then (once it is all matched) the value's
            // length so far; an entry that is not the prefix's, or whose value is too long, is skipped to its NUL.
            int matched = 0, valueLength = -1;
            var skipping = false;
            for (long total = 0; total < Limits.MaxEnvironScanBytes;)
            {
                var got = ReadSome(fd, chunk.AsSpan(0, (int)Math.Min(EnvironChunkBytes, Limits.MaxEnvironScanBytes - total)));
                if (got <= 0) break;
                total += got;
                var rest = chunk.AsSpan(0, got);
                while (rest.Length > 0)
                {
                    if (skipping || valueLength >= 0)
                    {
                        var nul = rest.IndexOf((byte)0);
                        var part = nul < 0 ? rest : rest[..nul];
                        if (!skipping)
                        {
                            if (valueLength + part.Length > Limits.MaxEnvironValueBytes) skipping = true;
                            else
                            {
                                part.CopyTo(value.AsSpan(valueLength));
                                valueLength += part.Length;
                            }
                        }
                        if (nul < 0) break;
                        if (!skipping && match(value.AsSpan(0, valueLength))) return true;
                        rest = rest[(nul + 1)..];
                        (matched, valueLength, skipping) = (0, -1, false);
                        continue;
                    }
                    // The prefix holds no NUL, so an entry that ends before it is matched does not match.
                    var take = Math.Min(prefix.Length - matched, rest.Length);
                    if (!rest[..take].SequenceEqual(prefix.Slice(matched, take)))
                    {
                        skipping = true;
                        continue;
                    }
                    matched += take;
                    rest = rest[take..];
                    if (matched == prefix.Length) valueLength = 0;
                }
            }
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(value);
            ArrayPool<byte>.Shared.Return(chunk);
            Libc.Close(fd);
        }
    }

    private const int EnvironChunkBytes = 16 * 1024;

    /// <summary>
    /// A small /proc or cgroup file as text, at most <see cref="Limits.MaxProcFileBytes"/> of it (the kernel's files
    /// read here are a few hundred bytes); null when it cannot be opened or read.
    /// </summary>
    public static string? ReadText(string path)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Limits.MaxProcFileBytes);
        try
        {
            var length = Read(path, buffer.AsSpan(0, Limits.MaxProcFileBytes));
            return length < 0 ? null : Encoding.UTF8.GetString(buffer, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>/proc/PID/FILE into <paramref name="buffer"/> (no path string is made).</summary>
    public static int Read(int pid, string file, Span<byte> buffer) => ReadAndClose(OpenProc(pid, file), buffer);

    /// <summary>Reads a file into <paramref name="buffer"/> until its end or the buffer's: the bytes read, or -1 when it cannot be opened or read.</summary>
    public static int Read(string path, Span<byte> buffer)
    {
        if (path.Length > 4095) return -1; // PATH_MAX
        Span<byte> native = stackalloc byte[Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        var n = Encoding.UTF8.GetBytes(path, native);
        native[n] = 0;
        return Read(native[..(n + 1)], buffer);
    }

    // path: NUL-terminated.
    private static int Read(ReadOnlySpan<byte> path, Span<byte> buffer) => ReadAndClose(Open(path), buffer);

    // /proc/PID/FILE opened read-only (no path string is made): the fd, or -1.
    private static int OpenProc(int pid, string file)
    {
        Span<byte> path = stackalloc byte[64 + file.Length * 3];
        return Utf8.TryWrite(path, CultureInfo.InvariantCulture, $"/proc/{pid}/{file}\0", out _) ? Open(path) : -1;
    }

    // Reads fd into buffer until its end or the buffer's, then closes it: the bytes read, or -1 (fd -1 included).
    private static int ReadAndClose(int fd, Span<byte> buffer)
    {
        if (fd < 0) return -1;
        try
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var got = ReadSome(fd, buffer[total..]);
                if (got == 0) break;
                if (got < 0) return -1;
                total += got;
            }
            return total;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    // path: NUL-terminated. The fd, or -1.
    private static unsafe int Open(ReadOnlySpan<byte> path)
    {
        fixed (byte* p = path) return Libc.Open(p, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
    }

    // One read(2), again after EINTR: the bytes read, 0 at the end, -1 on an error.
    private static unsafe int ReadSome(int fd, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
            while (true)
            {
                var got = Libc.Read(fd, b, (nuint)buffer.Length);
                if (got >= 0) return (int)got;
                if (Errno.Last.Value != Errno.EINTR) return -1;
            }
    }

    /// <summary>
    /// CLOCK_BOOTTIME in USER_HZ ticks, rounded down: the kernel derives a process's starttime from the same clock
    /// (its boot time at fork), so a process forked after this call never shows a smaller starttime.
    /// </summary>
    public static unsafe ulong ClockTicksSinceBoot()
    {
        Libc.TimeSpec now;
        if (Libc.ClockGetTime(Libc.CLOCK_BOOTTIME, &now) != 0) return 0;
        var hz = (ulong)Math.Max(1, Libc.SysConf(Libc._SC_CLK_TCK));
        return (ulong)now.Seconds * hz + (ulong)now.Nanoseconds * hz / 1_000_000_000UL;
    }
}

/// <summary>The fields of one /proc/PID/stat line supd reads (proc(5) numbers them from 1: state is 3, starttime 22).</summary>
internal readonly record struct StatLine(ProcessInfo Info, long UserTicks, long SystemTicks)
{
    /// <summary>Null when the line is not a stat line (cut short, or not numbers where numbers belong).</summary>
    public static StatLine? Parse(ReadOnlySpan<byte> line)
    {
        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        var close = line.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= line.Length) return null;
        var rest = line[(close + 2)..];
        char state = default;
        int parent = 0, group = 0, session = 0;
        long user = 0, system = 0;
        var index = 0;
        foreach (var range in rest.Split((byte)' '))
        {
            var field = rest[range];
            switch (index++)
            {
                case 0 when field.Length > 0: state = (char)field[0]; break;
                case 1 when !Number(field, out parent): return null;
                case 2 when !Number(field, out group): return null;
                case 3 when !Number(field, out session): return null;
                case 11 when !Number(field, out user): return null;
                case 12 when !Number(field, out system): return null;
                case 19:
                    return System.Buffers.Text.Utf8Parser.TryParse(field, out ulong start, out var used) && used == field.Length
                        ? new StatLine(new ProcessInfo(state, parent, group, session, start), user, system) : null;
            }
        }
        return null;
    }

    private static bool Number(ReadOnlySpan<byte> field, out int value) =>
        System.Buffers.Text.Utf8Parser.TryParse(field, out value, out var used) && used == field.Length;

    private static bool Number(ReadOnlySpan<byte> field, out long value) =>
        System.Buffers.Text.Utf8Parser.TryParse(field, out value, out var used) && used == field.Length;
}
