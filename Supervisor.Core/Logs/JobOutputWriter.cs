using System.Buffers;
using System.Globalization;
using System.Text;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// One process's way into its job's log: the sink its output pump writes to. It knows where this process's lines
/// begin, so with timestamps each line (and only the start of a line, however long it is or however it was split
/// across reads) gets an ISO-8601 prefix, and with a mirror each complete line is copied as <c>JOB| line</c>.
/// Without either, a chunk goes to the file as it was read: no copy, no parsing.
/// </summary>
public sealed class JobOutputWriter : IOutputSink
{
    /// <summary>A mirrored line longer than this is passed on in pieces, each with the prefix.</summary>
    public const int MaxMirrorLine = 16 * 1024;

    // "2026-11-24T18:01:02.123+00:00 "
    private const string StampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffzzz";
    private const int StampLength = 30;

    private readonly JobLogFile _file;
    private readonly bool _timestamps;
    private readonly LogMirror? _mirror;
    private readonly JournalSink? _journal;
    private readonly byte[] _job;
    private readonly byte[] _instance;
    private readonly byte[] _prefix;
    private readonly int _priority;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private bool _atLineStart = true;
    private byte[]? _pending;
    private int _pendingLength;

    /// <param name="priority">The journal priority of its lines: <see cref="JournalSink.Info"/> for stdout (or both
    /// streams on one pipe), <see cref="JournalSink.Warning"/> for a stderr of its own.</param>
    public JobOutputWriter(JobLogFile file, bool timestamps, LogMirror? mirror, string mirrorName, TimeProvider time,
        JournalSink? journal = null, string job = "", string instance = "", int priority = JournalSink.Info)
    {
        _priority = priority;
        _file = file;
        _timestamps = timestamps;
        _mirror = mirror;
        _journal = journal;
        _job = Encoding.UTF8.GetBytes(job);
        _instance = Encoding.UTF8.GetBytes(instance);
        _prefix = Encoding.UTF8.GetBytes(mirrorName + "| ");
        _time = time;
    }

    // The whole lines (or 16 KiB pieces) the mirror gets also go to the journal, one entry each, untimestamped
    // (journald stamps them), at this writer's priority (stderr has a pipe and a writer of its own when journald
    // gets the lines: JobLogDirectory.SplitsErrorStream).
    private bool SplitsLines => _mirror is not null || _journal is not null;

    public JobLogFile File => _file;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        // One pump per writer calls this, but Completed may race a late Write on another thread: keep it simple.
        lock (_gate)
        {
            if (_timestamps) WriteStamped(data);
            else _file.Write(data);
            if (SplitsLines) Mirror(data);
        }
    }

    /// <summary>
    /// Where this process's output stood, for a re-exec: whether the next byte starts a line (its timestamp) and the
    /// line the mirror or journal waits to finish (at most <see cref="MaxMirrorLine"/> bytes). Read while the pump is parked.
    /// </summary>
    public (bool AtLineStart, byte[] Pending) LineState
    {
        get
        {
            lock (_gate) return (_atLineStart, _pending is null ? [] : _pending.AsSpan(0, _pendingLength).ToArray());
        }
    }

    /// <summary>Takes up a line where the previous image left it (<see cref="LineState"/>).</summary>
    public void ResumeLine(bool atLineStart, ReadOnlySpan<byte> pending)
    {
        lock (_gate)
        {
            _atLineStart = atLineStart;
            if (pending.IsEmpty) return;
            var length = Math.Min(pending.Length, MaxMirrorLine);
            _pending ??= new byte[MaxMirrorLine];
            pending[..length].CopyTo(_pending);
            _pendingLength = length;
        }
    }

    public void Completed()
    {
        lock (_gate)
        {
            if (!SplitsLines || _pendingLength == 0) return;
            _journal?.JobLine(_job, _instance, _priority, _pending.AsSpan(0, _pendingLength));
            if (_mirror is null)
            {
                _pendingLength = 0;
                return;
            }
            var line = new byte[_prefix.Length + _pendingLength + 1];
            _prefix.CopyTo(line, 0);
            _pending.AsSpan(0, _pendingLength).CopyTo(line.AsSpan(_prefix.Length));
            line[^1] = (byte)'\n';
            _pendingLength = 0;
            _mirror.WriteLines(line);
        }
    }

    private void WriteStamped(ReadOnlySpan<byte> data)
    {
        var lines = data.Count((byte)'\n') + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length + lines * StampLength);
        try
        {
            Span<byte> stamp = stackalloc byte[64];
            var stampLength = Stamp(stamp);
            var length = 0;
            while (!data.IsEmpty)
            {
                if (_atLineStart)
                {
                    stamp[..stampLength].CopyTo(buffer.AsSpan(length));
                    length += stampLength;
                }
                var newline = data.IndexOf((byte)'\n');
                var segment = newline < 0 ? data : data[..(newline + 1)];
                segment.CopyTo(buffer.AsSpan(length));
                length += segment.Length;
                _atLineStart = newline >= 0;
                data = data[segment.Length..];
            }
            _file.Write(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private int Stamp(Span<byte> destination)
    {
        var now = _time.GetLocalNow();
        now.TryFormat(destination, out var written, StampFormat, CultureInfo.InvariantCulture);
        destination[written++] = (byte)' ';
        return written;
    }

    private void Journal(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        if (head.IsEmpty)
        {
            _journal!.JobLine(_job, _instance, _priority, tail);
            return;
        }
        var line = ArrayPool<byte>.Shared.Rent(head.Length + tail.Length);
        try
        {
            head.CopyTo(line);
            tail.CopyTo(line.AsSpan(head.Length));
            _journal!.JobLine(_job, _instance, _priority, line.AsSpan(0, head.Length + tail.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(line);
        }
    }

    // Complete lines go out at once, prefixed, in one write per chunk; a partial line waits for its end.
    private void Mirror(ReadOnlySpan<byte> data)
    {
        var lines = data.Count((byte)'\n') + 2;
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length + _pendingLength + lines * (_prefix.Length + 1) + (data.Length / MaxMirrorLine + 1) * (_prefix.Length + 1));
        try
        {
            var length = 0;
            void Line(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
            {
                if (_journal is not null) Journal(head, tail);
                if (_mirror is null) return;
                _prefix.CopyTo(buffer.AsSpan(length));
                length += _prefix.Length;
                head.CopyTo(buffer.AsSpan(length));
                length += head.Length;
                tail.CopyTo(buffer.AsSpan(length));
                length += tail.Length;
                buffer[length++] = (byte)'\n';
            }

            while (!data.IsEmpty)
            {
                var newline = data.IndexOf((byte)'\n');
                var room = MaxMirrorLine - _pendingLength;
                if (newline >= 0 && newline <= room)
                {
                    Line(_pending.AsSpan(0, _pendingLength), data[..newline]);
                    _pendingLength = 0;
                    data = data[(newline + 1)..];
                }
                else if (newline < 0 && data.Length <= room)
                {
                    _pending ??= new byte[MaxMirrorLine];
                    data.CopyTo(_pending.AsSpan(_pendingLength));
                    _pendingLength += data.Length;
                    break;
                }
                else
                {
                    // Longer than a mirrored line may be: pass this much on now; the rest follows with its own prefix.
                    Line(_pending.AsSpan(0, _pendingLength), data[..room]);
                    _pendingLength = 0;
                    data = data[room..];
                }
            }
            _mirror?.WriteLines(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
