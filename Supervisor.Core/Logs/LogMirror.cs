using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Logs;

/// <summary>
/// supd's stdout as a copy of every job's output (<c>--log-to-stdout</c>), for containers: <c>docker logs</c> then shows
/// everything. Writers hand it whole lines, already prefixed (<c>web| listening on :80</c>), so lines of different jobs
/// never interleave mid-line. A failed write (stdout closed) is counted and warned about once; the logs go on.
/// </summary>
public sealed partial class LogMirror(Stream output, ILogger<LogMirror> log)
{
    private readonly Lock _gate = new();
    private bool _failing;
    private long _bytesDropped;

    public long BytesDropped => Interlocked.Read(ref _bytesDropped);

    /// <summary>Writes complete, prefixed lines in one piece.</summary>
    public void WriteLines(ReadOnlySpan<byte> lines)
    {
        if (lines.IsEmpty) return;
        lock (_gate)
        {
            try
            {
                output.Write(lines);
                _failing = false;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                Interlocked.Add(ref _bytesDropped, lines.Length);
                if (_failing) return;
                _failing = true;
                LogMirrorFailed(e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot copy job output to stdout: {Reason}; dropping the copy until it can be written")]
    private partial void LogMirrorFailed(string reason);
}
