using System.Globalization;
using System.Runtime.CompilerServices;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// Reads a job log as <c>tail -n N -F</c> does: the last lines (reaching back into <c>JOB.log.1</c> when the current
/// file holds fewer), then, when following, whatever is appended. A rotation (the path names another file, or the
/// file shrank) is followed: the old file is read to its end first, so nothing written before the rotation is missed.
/// Memory is bounded whatever the file holds: the last lines are found reading backwards in chunks and given in
/// chunks, each line cut at <see cref="Limits.MaxHeldLogLineBytes"/>; what is followed passes through in chunks.
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
            foreach (var piece in LastLines(reader, path, lines)) yield return new Chunk(piece, false);
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

    // Through NoFollowFile: a symlink at the path is refused (IOException), never read.
    private static FileStream? TryOpen(string path) => NoFollowFile.OpenRead(path);

    // True when the path names another file than the one open (or appeared while none was).
    private static bool Replaced(FileStream? reader, string path)
    {
        var current = AppendFile.IdentityOf(path);
        if (reader is null) return current is not null;
        return current is not null && current != AppendFile.IdentityOf(reader.SafeFileHandle);
    }

    /// <summary>
    /// The last <paramref name="lines"/> lines, in pieces of at most <see cref="ChunkSize"/> bytes (plus a marker), each
    /// line cut at <see cref="Limits.MaxHeldLogLineBytes"/>; leaves <paramref name="reader"/> at the end it saw.
    /// </summary>
    private static IEnumerable<ReadOnlyMemory<byte>> LastLines(FileStream? reader, string path, int lines)
    {
        if (reader is null) yield break;
        var end = reader.Length;
        var (start, found) = StartOfLastLines(reader, end, lines);
        if (lines > 0 && found < lines)
        {
            using var previous = TryOpen(path + ".1");
            if (previous is not null)
            {
                var previousEnd = previous.Length;
                var (previousStart, _) = StartOfLastLines(previous, previousEnd, lines - found);
                foreach (var piece in CutLongLines(previous, previousStart, previousEnd)) yield return piece;
            }
        }
        foreach (var piece in CutLongLines(reader, start, end)) yield return piece;
        reader.Position = end;
    }

    /// <summary>
    /// Where the last <paramref name="lines"/> lines of [0, end) start, found by reading backwards in chunks, and how
    /// many lines that is (fewer when the file has fewer). A final line without its newline counts as a line.
    /// </summary>
    private static (long Start, int Found) StartOfLastLines(FileStream stream, long end, int lines)
    {
        if (lines <= 0 || end == 0) return (end, 0);
        var start = end;
        var newlines = 0;
        var buffer = new byte[ChunkSize];
        // The newline ending the last line does not start one.
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
                if (++newlines == lines) return (start + i + 1, lines);
            }
            skipLast = false;
        }
        return (0, newlines + 1);
    }

    /// <summary>
    /// [start, end) read forwards in chunks; a line longer than <see cref="Limits.MaxHeldLogLineBytes"/> keeps its
    /// first bytes (never half a UTF-8 character) and the rest is replaced by <c>…[N bytes cut]</c>, so one 700 MB
    /// line costs supd one chunk of memory, not 700 MB. A last line without its newline is given (cut the same way).
    /// </summary>
    internal static IEnumerable<ReadOnlyMemory<byte>> CutLongLines(Stream stream, long start, long end)
    {
        const int max = Limits.MaxHeldLogLineBytes;
        var buffer = new byte[ChunkSize];
        var output = new MemoryStream(ChunkSize + 64);
        long length = 0; // bytes of the current line seen so far
        long kept = 0;   // of which were passed on
        var cutting = false;
        stream.Position = start;
        for (var position = start; position < end;)
        {
            var size = (int)Math.Min(ChunkSize, end - position);
            stream.ReadExactly(buffer, 0, size);
            position += size;
            ReadOnlySpan<byte> data = buffer.AsSpan(0, size);
            while (!data.IsEmpty)
            {
                var newline = data.IndexOf((byte)'\n');
                var segment = newline < 0 ? data : data[..newline];
                if (!cutting)
                {
                    var take = (int)Math.Min(max - length, segment.Length);
                    output.Write(segment[..take]);
                    kept += take;
                }
                length += segment.Length;
                if (!cutting && kept < length)
                {
                    // The cut starts here: drop a character whose last bytes would be cut off.
                    cutting = true;
                    var whole = CompleteUtf8Length(output.GetBuffer().AsSpan(0, (int)output.Length));
                    kept -= output.Length - whole;
                    output.SetLength(whole);
                }
                if (newline < 0) break;
                if (cutting) WriteCut(output, length - kept);
                output.WriteByte((byte)'\n');
                length = kept = 0;
                cutting = false;
                data = data[(newline + 1)..];
            }
            // A character split by the chunk's end waits for its last bytes (it may yet be cut).
            var ready = position < end ? CompleteUtf8Length(output.GetBuffer().AsSpan(0, (int)output.Length)) : (int)output.Length;
            if (ready > 0)
            {
                yield return output.GetBuffer().AsSpan(0, ready).ToArray();
                var rest = output.GetBuffer().AsSpan(ready, (int)output.Length - ready).ToArray();
                output.SetLength(0);
                output.Write(rest);
            }
        }
        if (cutting)
        {
            output.SetLength(0);
            WriteCut(output, length - kept);
            yield return output.ToArray();
        }
    }

    // The length of the longest prefix that does not end inside a UTF-8 character.
    private static int CompleteUtf8Length(ReadOnlySpan<byte> data)
    {
        for (int i = data.Length - 1, back = 0; i >= 0 && back < 4; i--, back++)
        {
            var b = data[i];
            if ((b & 0xC0) == 0x80) continue;
            var need = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return data.Length - i >= need ? data.Length : i;
        }
        return data.Length;
    }

    private static void WriteCut(MemoryStream output, long bytes) =>
        output.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"…[{bytes} bytes cut]")));
}
