using System.Text;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// Passes one process's output on to its sink (the job log) and keeps the last lines it wrote, so a failure can be
/// explained with them ("pre-start process exited with status 3" and what it printed). Lines longer than
/// <see cref="Limits.MaxFailureLineBytes"/> are cut; a last line without a newline is kept too. When the process's
/// stderr has a pipe of its own, its tail is <see cref="Errors"/>: <see cref="Lines"/> and <see cref="Completion"/>
/// then cover both, lines in the order they were read.
/// </summary>
public sealed class OutputTail(IOutputSink? inner, int lines = Limits.FailureLines) : IOutputSink
{
    // One order for every line read by any tail, so the lines of a stdout and a stderr tail can be merged.
    private static long s_order;

    private readonly Lock _gate = new();
    private readonly Queue<(long Order, string Text)> _lines = new();
    // The line being read, up to Limits.MaxFailureLineBytes (copied by span: a fast writer passes many lines per chunk).
    private readonly byte[] _partial = new byte[Limits.MaxFailureLineBytes];
    private int _partialLength;
    private bool _partialCut;
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Where the output goes on to (the job log's writer), or null.</summary>
    public IOutputSink? Inner => inner;

    /// <summary>The tail of the same process's stderr, when it has a pipe of its own (null: one pipe for both).</summary>
    public OutputTail? Errors { get; init; }

    /// <summary>Completes when the pipe (and the stderr pipe, if any) has been read to its end (every writer closed it).</summary>
    public Task Completion => Errors is null ? _completed.Task : Task.WhenAll(_completed.Task, Errors._completed.Task);

    public void Write(ReadOnlySpan<byte> data)
    {
        inner?.Write(data);
        lock (_gate)
        {
            data = LastLinesOf(data);
            while (!data.IsEmpty)
            {
                var newline = data.IndexOf((byte)'\n');
                var chunk = newline < 0 ? data : data[..newline];
                var room = Limits.MaxFailureLineBytes - _partialLength;
                if (chunk.Length > room) _partialCut = true;
                var take = Math.Min(room, chunk.Length);
                chunk[..take].CopyTo(_partial.AsSpan(_partialLength));
                _partialLength += take;
                if (newline < 0) break;
                EndLine();
                data = data[(newline + 1)..];
            }
        }
    }

    // Only a chunk's last complete lines (and its unfinished end) can still be among the last lines: skip the rest
    // unread, so a fast writer costs a few searches per chunk, not a string per line.
    private ReadOnlySpan<byte> LastLinesOf(ReadOnlySpan<byte> data)
    {
        var lastNewline = data.LastIndexOf((byte)'\n');
        if (lastNewline < 0) return data;
        var search = data[..lastNewline];
        for (var found = 1; found < lines; found++)
        {
            var previous = search.LastIndexOf((byte)'\n');
            if (previous < 0) return data; // fewer lines than kept: the first one may finish the pending line
            search = search[..previous];
        }
        var start = search.LastIndexOf((byte)'\n');
        if (start < 0) return data;
        // The pending line ended somewhere before: it is older than every line kept now.
        _partialLength = 0;
        _partialCut = false;
        _lines.Clear();
        return data[(start + 1)..];
    }

    public void Completed()
    {
        inner?.Completed();
        _completed.TrySetResult();
    }

    /// <summary>The last lines, oldest first, with an unfinished last line at the end (of stdout and stderr).</summary>
    public IReadOnlyList<string> Lines()
    {
        var result = Entries();
        if (Errors is not null) result = [.. result, .. Errors.Entries()];
        result.Sort((a, b) => a.Order.CompareTo(b.Order));
        return (result.Count > lines ? result[^lines..] : result).Select(e => e.Text).ToList();
    }

    // An unfinished last line counts as read last.
    private List<(long Order, string Text)> Entries()
    {
        lock (_gate)
        {
            var result = _lines.ToList();
            if (_partialLength > 0) result.Add((long.MaxValue, Decode()));
            return result;
        }
    }

    private void EndLine()
    {
        _lines.Enqueue((Interlocked.Increment(ref s_order), Decode()));
        while (_lines.Count > lines) _lines.Dequeue();
        _partialLength = 0;
        _partialCut = false;
    }

    private string Decode()
    {
        var text = Encoding.UTF8.GetString(_partial, 0, _partialLength).TrimEnd('\r');
        return _partialCut ? text + " …" : text;
    }
}
