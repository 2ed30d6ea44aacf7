using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Copies one process's output pipe into its sink until end of file, that is until every writer (the process and
/// any child that inherited the pipe) has closed it, so no byte written before the exit is lost.
///
/// Each pipe gets its own small thread doing blocking read(2)s into one buffer, as <c>cat</c> does: a fast writer
/// then costs one read and one write per chunk, with no epoll round trip or thread-pool hop per read (the async
/// pipe stream spent several times the CPU per MiB). A slow log disk blocks only this pump, so the pipe fills and
/// the job itself is slowed down (back-pressure) instead of supd buffering without bound.
/// </summary>
internal static unsafe partial class OutputPump
{
    private const int BufferSize = 128 * 1024;

    // The pump's frames are shallow (read, then the sink's write and its logging); the default 1.5 MiB is not needed.
    private const int StackSize = 256 * 1024;

    /// <summary>Starts pumping <paramref name="readFd"/> (which the pump owns and closes); the task ends at end of file.</summary>
    public static Task Start(int readFd, IOutputSink sink, string description, ILogger log)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => Run(readFd, sink, description, log, done), StackSize)
        {
            IsBackground = true,
            Name = "supd-pump",
        };
        thread.Start();
        return done.Task;
    }

    private static void Run(int fd, IOutputSink sink, string description, ILogger log, TaskCompletionSource done)
    {
        var buffer = new byte[BufferSize];
        try
        {
            fixed (byte* start = buffer)
            {
                while (true)
                {
                    var read = Libc.Read(fd, start, BufferSize);
                    if (read > 0)
                    {
                        sink.Write(new ReadOnlySpan<byte>(start, (int)read));
                        continue;
                    }
                    if (read == 0) break;
                    var error = Errno.Last;
                    if (error.Value == Errno.EINTR) continue;
                    LogPumpFailed(log, description, error.Message);
                    break;
                }
            }
        }
        finally
        {
            Libc.Close(fd);
            try
            {
                sink.Completed();
            }
            finally
            {
                done.TrySetResult();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the output of {Process} failed: {Reason}")]
    private static partial void LogPumpFailed(ILogger log, string process, string reason);
}
