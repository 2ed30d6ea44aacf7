using Supervisor.Core.Handover;
using Supervisor.Core.State;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// What this supd was handed by the image before it (<c>supctl daemon-reexec</c>): the state read from the memfd
/// named by <c>--handover FD</c>, taken off the command line and read before anything else, so the descriptor is
/// closed at once. <see cref="None"/> for a fresh start. A state that cannot be read (never expected: the old image
/// asked this binary first) leaves <see cref="Error"/>, logged at start-up; supd then starts as if fresh, which the
/// inherited lock stops (another open of the lock file), so it exits and its service manager restarts it afresh.
/// </summary>
public sealed class HandoverStart
{
    private HandoverStart(HandoverState? state, string? error)
    {
        State = state;
        Error = error;
    }

    public static HandoverStart None { get; } = new(null, null);

    public HandoverState? State { get; }

    public string? Error { get; }

    public bool IsReexec => State is not null;

    // Read once, as Main starts (HandoverStart.Take is its first step).
    private static readonly DateTimeOffset s_imageStarted = DateTimeOffset.UtcNow;

    // Read as Main starts, while the file at supd's path is still the one running: once an upgrade has replaced it,
    // /proc/self/exe reads "PATH (deleted)".
    private static readonly string? s_imagePath = Environment.ProcessPath;

    /// <summary>The path supd was started from: a re-exec runs whatever binary is there now.</summary>
    public static string? ImagePath => s_imagePath;

    /// <summary>When supd was first started: this image's start, or the first image's after re-execs.</summary>
    public DateTimeOffset FirstStarted => State?.FirstStarted ?? s_imageStarted;

    /// <summary>Takes <c>--handover FD</c> out of <paramref name="args"/> and reads the state it names.</summary>
    public static HandoverStart Take(ref string[] args)
    {
        var at = Array.IndexOf(args, SelfExec.HandoverFlag);
        if (at < 0) return None;
        if (at + 1 >= args.Length || !int.TryParse(args[at + 1], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var fd) || fd < 3)
        {
            args = [.. args[..at], .. args[Math.Min(args.Length, at + 2)..]];
            return new HandoverStart(null, $"{SelfExec.HandoverFlag} needs a descriptor number");
        }
        args = [.. args[..at], .. args[(at + 2)..]];
        var state = HandoverFile.Read(fd, ProcStat.BootId(), out var error);
        return new HandoverStart(state, error);
    }
}
