using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// One job instance's log file (<c>LOGDIR/JOB.log</c>), which every process of the instance writes into.
/// <list type="bullet">
/// <item>Appended with write(2) on an O_APPEND fd, mode 0640, opened on the first output (as Upstart does), never
/// through a symlink (<see cref="NoFollowFile"/>: a planted link is refused and the output counted as dropped).</item>
/// <item>Rotated by size: <c>JOB.log</c> is always the current file, older ones are <c>JOB.log.1</c> … <c>JOB.log.N</c>.
/// The cut is made at a line boundary: a line that straddles the limit finishes in the old file if it ends within
/// <see cref="LineOvershoot"/> bytes (or the size limit, if smaller); only a longer line is split.</item>
/// <item>Trouble (directory missing or unwritable, ENOSPC, EPERM, EIO): the bytes are counted as dropped, one warning is
/// logged per episode, and the next write tries again, so the pump keeps draining and the job never blocks on it.</item>
/// <item>Deleted or moved away under us: noticed within a second, and a new file is opened at the path.</item>
/// </list>
/// Thread-safe: the pumps of several processes write concurrently; each chunk goes to the file in one piece.
/// </summary>
public sealed partial class JobLogFile : IOutputSink, IDisposable
{
    public const int LineOvershoot = 64 * 1024;
    public const int Mode0640 = 0x1A0;
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly int _mode;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private AppendFile? _file;
    private bool _atLineStart = true;
    private long _nextCheck;
    private long _rotationBlockedUntil;
    private bool _rotationFailing;
    private bool _failing;
    private long _episodeDropped;
    private long _bytesDropped;
    private long _bytesWritten;
    private LogRotation _rotation;

    /// <param name="mode">Permissions of a file it creates: 0640 for job logs, 0600 for supd's own log.</param>
    public JobLogFile(string path, ILogger log, LogRotation? rotation = null, TimeProvider? time = null, int mode = Mode0640)
    {
        Path = path;
        _mode = mode;
        _log = log;
        _time = time ?? TimeProvider.System;
        _rotation = rotation ?? Defaults.Logs.Rotation;
    }

    public string Path { get; }
    public long BytesDropped => Interlocked.Read(ref _bytesDropped);
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Size limit and how many rotated files to keep (the job's <c>log rotate</c>, else the daemon-wide default).</summary>
    public LogRotation Rotation
    {
        get { lock (_gate) return _rotation; }
        set { lock (_gate) _rotation = value; }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            CheckStillNamed();
            while (!data.IsEmpty)
            {
                if (!EnsureOpen(out var reason))
                {
                    Drop(data.Length, reason);
                    return;
                }
                if (!RotationDue(data.Length))
                {
                    Append(data);
                    return;
                }
                var take = Cut(data);
                if (take > 0) Append(data[..take]);
                data = data[take..];
                if (!data.IsEmpty && _file is not null) Rotate();
            }
        }
    }

    /// <summary>
    /// Whether the file ends inside a line (its last byte is not a newline): after a restart of supd, the output still
    /// in a job's pipe goes on that line, without a second timestamp.
    /// </summary>
    public bool EndsMidLine()
    {
        try
        {
            using var stream = Processes.NoFollowFile.OpenRead(Path);
            if (stream is null || stream.Length == 0) return false;
            stream.Seek(-1, SeekOrigin.End);
            return stream.ReadByte() != '\n';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Closes the file so the next write opens it again (after an external rotation).</summary>
    public void Reopen()
    {
        lock (_gate) Close();
    }

    private bool RotationDue(int length) =>
        _file is not null && _file.Size + length > _rotation.SizeBytes && _time.GetTimestamp() >= _rotationBlockedUntil;

    // How many bytes of data still go to the current file before it is rotated (possibly none).
    private int Cut(ReadOnlySpan<byte> data)
    {
        var size = _file!.Size;
        var limit = _rotation.SizeBytes;
        var room = (int)Math.Clamp(limit - size, 0, data.Length);
        var fit = data[..room].LastIndexOf((byte)'\n');
        if (fit >= 0) return fit + 1;
        if (_atLineStart && size > 0) return 0; // the next line starts the new file
        // Mid-line at the limit (or a first line longer than the limit): finish the line if it ends soon, else split it.
        var hard = (int)Math.Clamp(limit + Math.Min(LineOvershoot, limit) - size, 0, data.Length);
        var end = data[..hard].IndexOf((byte)'\n');
        return end >= 0 ? end + 1 : hard;
    }

    private void Rotate()
    {
        Close();
        var count = _rotation.Count;
        string? failure = null;
        if (count == 0)
        {
            if (!AppendFile.Delete(Path, out var error)) failure = error.Message;
        }
        else
        {
            for (var i = count - 1; i >= 0 && failure is null; i--)
            {
                var from = i == 0 ? Path : $"{Path}.{i}";
                if (!AppendFile.Rename(from, $"{Path}.{i + 1}", out var error)) failure = error.Message;
            }
        }
        if (failure is null)
        {
            _atLineStart = true;
            if (_rotationFailing)
            {
                _rotationFailing = false;
                LogRotationRecovered(Path);
            }
            return;
        }
        // Keep writing to the file as it is (past its limit) rather than lose output; try again in a while.
        _rotationBlockedUntil = _time.GetTimestamp() + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
        if (!_rotationFailing)
        {
            _rotationFailing = true;
            LogRotationFailed(Path, failure);
        }
    }

    private bool EnsureOpen(out string reason)
    {
        reason = "";
        if (_file is not null) return true;
        _file = AppendFile.Open(Path, _mode, out var problem);
        if (_file is null)
        {
            reason = problem;
            return false;
        }
        _atLineStart = true;
        _nextCheck = _time.GetTimestamp() + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
        return true;
    }

    // At most once a second: a file deleted or moved away under us is replaced by a new one at the path.
    private void CheckStillNamed()
    {
        if (_file is null) return;
        var now = _time.GetTimestamp();
        if (now < _nextCheck) return;
        _nextCheck = now + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
        if (AppendFile.IdentityOf(Path) == _file.Identity) return;
        LogFileReplaced(Path);
        Close();
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        var done = _file!.Write(data, out var error);
        Interlocked.Add(ref _bytesWritten, done);
        if (done > 0) _atLineStart = data[done - 1] == (byte)'\n';
        if (done < data.Length)
        {
            Close();
            Drop(data.Length - done, error.Message);
            return;
        }
        if (_failing)
        {
            _failing = false;
            LogRecovered(Path, _episodeDropped);
        }
    }

    private void Drop(int count, string reason)
    {
        Interlocked.Add(ref _bytesDropped, count);
        if (_failing)
        {
            _episodeDropped += count;
            return;
        }
        _failing = true;
        _episodeDropped = count;
        LogWriteFailed(Path, reason);
    }

    private void Close()
    {
        _file?.Dispose();
        _file = null;
    }

    public void Dispose() => Reopen();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot write job log {Path}: {Reason}; counting dropped output until it can be written")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job log {Path} is writable again; {Dropped} bytes were dropped meanwhile")]
    private partial void LogRecovered(string path, long dropped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot rotate job log {Path}: {Reason}; writing on past its size limit")]
    private partial void LogRotationFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job log {Path} rotates again")]
    private partial void LogRotationRecovered(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job log {Path} was deleted or moved away; opening a new one")]
    private partial void LogFileReplaced(string path);
}
