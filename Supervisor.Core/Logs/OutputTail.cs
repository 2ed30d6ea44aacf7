using System.Text;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// Passes one process's output on to its sink (the job log) and keeps the last lines it wrote, so a failure can be
/// explained with them ("pre-start process exited with status 3" and what it printed). Lines longer than
/// <see cref="MaxLineBytes"/> are cut; a last line without a newline is kept too.
/// </summary>
public sealed class OutputTail(IOutputSink? inner, int lines = OutputTail.DefaultLines) : IOutputSink
{
    public const int DefaultLines = 10;
    public const int MaxLineBytes = 4096;

    private readonly Lock _gate = new();
    private readonly Queue<string> _lines = new();
    private readonly List<byte> _partial = [];
    private bool _partialCut;
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the pipe has been read to its end (every writer closed it).</summary>
    public Task Completion => _completed.Task;

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
                var room = MaxLineBytes - _partial.Count;
                if (chunk.Length > room) _partialCut = true;
                foreach (var b in chunk[..Math.Min(room, chunk.Length)]) _partial.Add(b);
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
        _partial.Clear();
        _partialCut = false;
        _lines.Clear();
        return data[(start + 1)..];
    }

    public void Completed()
    {
        inner?.Completed();
        _completed.TrySetResult();
    }

    /// <summary>The last lines, oldest first, with an unfinished last line at the end.</summary>
    public IReadOnlyList<string> Lines()
    {
        lock (_gate)
        {
            var result = _lines.ToList();
            if (_partial.Count > 0) result.Add(Decode());
            return result.Count > lines ? result[^lines..] : result;
        }
    }

    private void EndLine()
    {
        _lines.Enqueue(Decode());
        while (_lines.Count > lines) _lines.Dequeue();
        _partial.Clear();
        _partialCut = false;
    }

    private string Decode()
    {
        var text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_partial)).TrimEnd('\r');
        return _partialCut ? text + " …" : text;
    }
}
