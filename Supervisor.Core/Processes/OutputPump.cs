using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Processes;

/// <summary>
/// Copies one process's output pipe into its sink until end of file, that is until every writer (the process and
/// any child that inherited the pipe) has closed it, so no byte written before the exit is lost.
/// </summary>
internal static partial class OutputPump
{
    private const int BufferSize = 64 * 1024;

    public static async Task RunAsync(Stream pipe, IOutputSink sink, string description, ILogger log)
    {
        var buffer = new byte[BufferSize];
        try
        {
            await using (pipe.ConfigureAwait(false))
            {
                int read;
                while ((read = await pipe.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                    sink.Write(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            LogPumpFailed(log, description, e.Message);
        }
        finally
        {
            sink.Completed();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the output of {Process} failed: {Reason}")]
    private static partial void LogPumpFailed(ILogger log, string process, string reason);
}
