using Microsoft.Extensions.Logging;
using Supervisor.Core.Systemd;

namespace Supervisor.Core.Survival;

/// <summary>Which keeper holds the job output pipes (<see cref="PipeKeeper.Open"/>).</summary>
public enum PipeKeeperMode
{
    /// <summary>systemd's fd store when <c>NOTIFY_SOCKET</c> is set, else supd's own fd holder.</summary>
    Auto,
    Systemd,
    Holder,
    /// <summary>Nothing kept: supd as PID 1 of a container, whose death ends the container anyway.</summary>
    None,
}

/// <summary>Chooses and opens the pipe keeper; the rules every keeper shares (names, bounds).</summary>
public static class PipeKeeper
{
    /// <summary>A pipe's name: <c>[A-Za-z0-9._-]</c>, 1 to this many characters (fits systemd's FDNAME= and a holder message).</summary>
    public const int MaxNameLength = 64;

    /// <summary>Keeps and forgets queued for the sender thread at once; more are refused and counted.</summary>
    public const int MaxPendingOperations = 4096;

    /// <summary>How long Release and Detach wait for the queue to drain.</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Opens the keeper for <paramref name="mode"/>. <paramref name="holderSocketPath"/> is where the fd holder listens
    /// (in a directory owned by supd's user). Never throws for what the system refuses: the answer is then a
    /// <see cref="NullPipeKeeper"/> whose description says why, and a warning is logged. Call it once at start-up,
    /// never on the loop: it may start the holder and waits for its answer (at most 15 s).
    /// </summary>
    public static IPipeKeeper Open(PipeKeeperMode mode, string holderSocketPath, ILogger log) =>
        Open(mode, holderSocketPath, log, new FdHolderOptions());

    internal static IPipeKeeper Open(PipeKeeperMode mode, string holderSocketPath, ILogger log, FdHolderOptions options)
    {
        var notifySocket = Environment.GetEnvironmentVariable(SystemdNotifier.SocketVariable);
        if (mode == PipeKeeperMode.Auto) mode = string.IsNullOrEmpty(notifySocket) ? PipeKeeperMode.Holder : PipeKeeperMode.Systemd;
        IPipeKeeper keeper;
        switch (mode)
        {
            case PipeKeeperMode.None:
                return new NullPipeKeeper("not asked for");
            case PipeKeeperMode.Systemd when string.IsNullOrEmpty(notifySocket):
                keeper = new NullPipeKeeper("systemd's fd store asked for, but NOTIFY_SOCKET is not set");
                break;
            case PipeKeeperMode.Systemd:
                keeper = SystemdFdStore.FromEnvironment(notifySocket!, log);
                break;
            default:
                try
                {
                    keeper = FdHolderClient.Open(holderSocketPath, options, log);
                }
                catch (PipeKeeperException e)
                {
                    keeper = new NullPipeKeeper($"fd holder unavailable: {e.Message}");
                }
                break;
        }
        if (keeper.IsActive) PipeKeeperLog.Opened(log, keeper.Description, keeper.TakeRecoveredCount());
        else PipeKeeperLog.Unavailable(log, keeper.Description);
        return keeper;
    }

    /// <summary>True for <c>[A-Za-z0-9._-]{1,64}</c>.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return false;
        return true;
    }

    /// <summary>A name for a message: cut, control characters escaped.</summary>
    internal static string Quote(string? name)
    {
        if (name is null) return "(null)";
        var cut = name.Length > MaxNameLength ? name[..MaxNameLength] + "…" : name;
        var text = new System.Text.StringBuilder(cut.Length + 2).Append('"');
        foreach (var c in cut) text.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return text.Append('"').ToString();
    }

    private static int TakeRecoveredCount(this IPipeKeeper keeper) =>
        keeper is QueuedPipeKeeper queued ? queued.RecoveredCount : 0;
}

/// <summary>Why a keeper could not be opened (one line).</summary>
public sealed class PipeKeeperException(string message) : Exception(message);

internal static partial class PipeKeeperLog
{
    [LoggerMessage(EventId = 520, Level = LogLevel.Information, Message = "Job output pipes kept by {Keeper}; {Recovered} recovered from before")]
    public static partial void Opened(ILogger log, string keeper, int recovered);

    [LoggerMessage(EventId = 521, Level = LogLevel.Warning, Message = "Job output pipes kept by {Keeper}: after a crash of supd its jobs' output pipes would be lost")]
    public static partial void Unavailable(ILogger log, string keeper);

    [LoggerMessage(EventId = 522, Level = LogLevel.Warning, Message = "Pipe keeper {Keeper}: {What} failed: {Reason} ({Failures} failed so far)")]
    public static partial void Failed(ILogger log, string keeper, string what, string reason, long failures);

    [LoggerMessage(EventId = 523, Level = LogLevel.Warning, Message = "Pipe keeper {Keeper}: its queue did not drain within {Seconds} s")]
    public static partial void FlushTimedOut(ILogger log, string keeper, double seconds);

    [LoggerMessage(EventId = 524, Level = LogLevel.Warning, Message = "Pipe keeper: recovered fd {Fd} ({Name}) closed: {Reason}")]
    public static partial void RecoveredDropped(ILogger log, int fd, string name, string reason);

    [LoggerMessage(EventId = 525, Level = LogLevel.Warning, Message = "The fd holder (pid {Pid}) is gone: the pipes it held are lost; a new holder is started for the next ones ({Failures} failed so far)")]
    public static partial void HolderLost(ILogger log, int pid, long failures);
}
