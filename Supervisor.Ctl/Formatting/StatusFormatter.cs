using Supervisor.Core.Lifecycle;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>initctl's status line from a protocol message, through the one formatter supd uses too (<see cref="StatusLineFormat"/>).</summary>
internal static class StatusFormatter
{
    public static string StatusLine(JobStatus status)
    {
        // initctl's order (main, pre-start, post-start, pre-stop, post-stop, then check and health) is the enum's.
        var processes = status.Processes.OrderBy(p => (int)p.Kind).Select(p => (p.Kind.Name(), p.Pid)).ToArray();
        TimeSpan? next = status.State == State.Respawning ? TimeSpan.FromMilliseconds(status.NextRespawnMs) : null;
        return StatusLineFormat.Format(
            status.Job, status.Instance, status.Goal.Name(), status.State.Name(), status.Failure, next, processes,
            status.ChangedOnDisk, status.Disabled, status.UnhealthyReason, status.AdoptedUnixMs > 0);
    }

    /// <summary><c>supctl status</c>: initctl's one line, then what did not go as the job file says, one indented line each.</summary>
    public static IEnumerable<string> StatusLines(JobStatus status)
    {
        yield return StatusLine(status);
        if (status.ExpectProblem.Length > 0) yield return $"\t{status.ExpectProblem}";
        foreach (var hint in status.NotApplied) yield return $"\tnot applied: {hint}";
    }
}
