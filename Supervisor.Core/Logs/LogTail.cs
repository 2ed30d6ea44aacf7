using System.Runtime.CompilerServices;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// Reads a job log as <c>tail -n N -F</c> does: the last lines (reaching back into <c>JOB.log.1</c> when the current
/// file holds fewer), then, when following, whatever is appended. A rotation (the path names another file, or the
/// file shrank) is followed: the old file is read to its end first, so nothing written before the rotation is missed.
/// </summary>
public static class LogTail
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>How often a follower looks for new output and for a rotation.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>A piece of the log; <see cref="Rotated"/> is set on the first piece read from a file that replaced the previous one.</summary>
    public readonly record struct Chunk(ReadOnlyMemory<byte> Data, bool Rotated);

    public static async IAsyncEnumerable<Chunk> ReadAsync(string path, int lines, bool follow, TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellation)
    {
        var reader = TryOpen(path);
        try
        {
            var last = LastLines(reader, path, lines);
            if (last.Length > 0) yield return new Chunk(last, false);
            if (!follow) yield break;

            var rotated = false;
            var buffer = new byte[ChunkSize];
            while (!cancellation.IsCancellationRequested)
            {
                if (reader is not null)
                {
                    int read;
                    while ((read = reader.Read(buffer)) > 0)
                    {
                        yield return new Chunk(buffer.AsSpan(0, read).ToArray(), rotated);
                        rotated = false;
                    }
                }
                if (Replaced(reader, path))
                {
                    // Read to the end above; whatever is at the path now is the current log.
                    reader?.Dispose();
                    reader = TryOpen(path);
                    rotated = true;
                    continue;
                }
                if (reader is not null && reader.Length < reader.Position)
                {
                    reader.Position = 0; // truncated in place (copytruncate)
                    rotated = true;
                    continue;
                }
                try
                {
                    await Task.Delay(PollInterval, time, cancellation).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }
        }
        finally
        {
            reader?.Dispose();
        }
    }

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    // True when the path names another file than the one open (or appeared while none was).
    private static bool Replaced(FileStream? reader, string path)
    {
        var current = AppendFile.IdentityOf(path);
        if (reader is null) return current is not null;
        return current is not null && current != AppendFile.IdentityOf(reader.SafeFileHandle);
    }

    /// <summary>The last <paramref name="lines"/> lines; leaves <paramref name="reader"/> at its end.</summary>
    private static byte[] LastLines(FileStream? reader, string path, int lines)
    {
        var current = reader is null ? [] : Tail(reader, lines);
        if (lines <= 0 || reader is null) return current;
        var found = CountLines(current);
        if (found >= lines) return current;
        using var previous = TryOpen(path + ".1");
        if (previous is null) return current;
        var older = Tail(previous, lines - found);
        return [.. older, .. current];
    }

    private static int CountLines(ReadOnlySpan<byte> data)
    {
        var count = data.Count((byte)'\n');
        return data.Length > 0 && data[^1] != (byte)'\n' ? count + 1 : count;
    }

    // The last lines of a file, found by reading backwards in chunks; the stream is left at the end it saw.
    private static byte[] Tail(FileStream stream, int lines)
    {
        var end = stream.Length;
        if (lines <= 0 || end == 0)
        {
            stream.Position = end;
            return [];
        }
        var start = end;
        var newlines = 0;
        var buffer = new byte[ChunkSize];
        // A final line without its newline counts as a line; the newline ending the last line does not start one.
        var skipLast = true;
        while (start > 0)
        {
            var size = (int)Math.Min(ChunkSize, start);
            start -= size;
            stream.Position = start;
            stream.ReadExactly(buffer, 0, size);
            for (var i = size - 1; i >= 0; i--)
            {
                if (buffer[i] != (byte)'\n') continue;
                if (skipLast && start + i == end - 1)
                {
                    skipLast = false;
                    continue;
                }
                if (++newlines == lines)
                {
                    start += i + 1;
                    return ReadRange(stream, start, end);
                }
            }
            skipLast = false;
        }
        return ReadRange(stream, 0, end);
    }

    private static byte[] ReadRange(FileStream stream, long start, long end)
    {
        var data = new byte[end - start];
        stream.Position = start;
        stream.ReadExactly(data);
        return data;
    }
}
