using Microsoft.Extensions.Logging;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// One job instance's log file (<c>LOGDIR/JOB.log</c>): every process of the instance writes into it, appended,
/// through an unbuffered O_APPEND stream so each chunk read from a pipe reaches the file in one write(2).
/// The file is opened on the first output (as Upstart does); when it cannot be written the bytes are counted as
/// dropped, one warning is logged per episode, and the next write tries again.
/// </summary>
public sealed partial class JobLogFile : IOutputSink, IDisposable
{
    private readonly Lock _gate = new();
    private readonly ILogger _log;
    private FileStream? _stream;
    private bool _failing;
    private long _bytesDropped;
    private long _bytesWritten;

    public JobLogFile(string path, ILogger log)
    {
        Path = path;
        _log = log;
    }

    public string Path { get; }
    public long BytesDropped => Interlocked.Read(ref _bytesDropped);
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            try
            {
                _stream ??= Open(Path);
                _stream.Write(data);
                Interlocked.Add(ref _bytesWritten, data.Length);
                if (_failing)
                {
                    _failing = false;
                    LogRecovered(Path, BytesDropped);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.Add(ref _bytesDropped, data.Length);
                _stream?.Dispose();
                _stream = null;
                if (!_failing)
                {
                    _failing = true;
                    LogWriteFailed(Path, e.Message);
                }
            }
        }
    }

    /// <summary>Closes the file so the next write opens it again (after an external rotation).</summary>
    public void Reopen()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    private static FileStream Open(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Append,
        Access = FileAccess.Write,
        Share = FileShare.ReadWrite | FileShare.Delete,
        BufferSize = 0,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
    });

    public void Dispose() => Reopen();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot write job log {Path}: {Reason}; dropping output until it can be written")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job log {Path} is writable again; {Dropped} bytes were dropped meanwhile")]
    private partial void LogRecovered(string path, long dropped);
}
