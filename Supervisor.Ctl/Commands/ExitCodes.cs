using Grpc.Core;

namespace Supervisor.Ctl.Commands;

/// <summary>How a verb ended, by kind; <see cref="ExitCodes"/> turns it into the exit status.</summary>
internal enum Outcome
{
    Success,
    /// <summary>supd said no (already running, failed to start, bad argument, check failed…), check-config found problems, reload-configuration rejected a file.</summary>
    Refused,
    /// <summary>The command line is wrong (System.CommandLine's parse errors, a missing job name, an unknown verb).</summary>
    Usage,
    /// <summary>is-running: the job does not run (LSB status 3).</summary>
    JobNotRunning,
    /// <summary>is-running: whether it runs cannot be told (LSB status 4).</summary>
    StatusUnknown,
    /// <summary>No such job or instance (supd's NotFound).</summary>
    NoSuchJob,
    /// <summary>A rule refuses the caller, or the socket is not reachable for want of permission.</summary>
    PermissionDenied,
    /// <summary>supd cannot be reached (no socket, connection refused) or is shutting down.</summary>
    Unreachable,
    /// <summary>Ctrl-C ended the call (log -f, events -f).</summary>
    Interrupted,
}

/// <summary>
/// supctl's exit statuses, one table keyed by the kind of outcome (docs/supctl.md, "Exit status"). 1 stays what it
/// was for every refusal a script can meet in normal use; kinds a script may want to tell apart get their own:
/// 4 for no such job (as systemctl and is-running's "unknown"), 69 and 77 from sysexits.h (EX_UNAVAILABLE,
/// EX_NOPERM), 130 for Ctrl-C (as a shell reports SIGINT).
/// </summary>
internal static class ExitCodes
{
    public static int For(Outcome outcome) => outcome switch
    {
        Outcome.Success => 0,
        Outcome.Refused => 1,
        Outcome.Usage => 2,
        Outcome.JobNotRunning => 3,
        Outcome.StatusUnknown => 4,
        Outcome.NoSuchJob => 4,
        Outcome.Unreachable => 69,
        Outcome.PermissionDenied => 77,
        Outcome.Interrupted => 130,
        _ => 1,
    };

    /// <summary>The kind of a call supd answered with <paramref name="code"/>.</summary>
    public static Outcome Of(StatusCode code) => code switch
    {
        StatusCode.OK => Outcome.Success,
        StatusCode.NotFound => Outcome.NoSuchJob,
        StatusCode.PermissionDenied => Outcome.PermissionDenied,
        StatusCode.Unavailable => Outcome.Unreachable,
        StatusCode.Cancelled => Outcome.Interrupted,
        _ => Outcome.Refused,
    };
}
