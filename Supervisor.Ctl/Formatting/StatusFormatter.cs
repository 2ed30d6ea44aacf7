using Supervisor.Core.Lifecycle;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>initctl's status line from a protocol message, through the one formatter supd uses too (<see cref="StatusLineFormat"/>).</summary>
internal static class StatusFormatter
{
    public static string StatusLine(JobStatus status)
    {
        // initctl's order (main, pre-start, post-start, pre-stop, post-stop, check) is the enum's.
        var processes = status.Processes.OrderBy(p => (int)p.Kind).Select(p => (p.Kind.Name(), p.Pid)).ToArray();
        TimeSpan? next = status.State == State.Respawning ? TimeSpan.FromMilliseconds(status.NextRespawnMs) : null;
        return StatusLineFormat.Format(
            status.Job, status.Instance, status.Goal.Name(), status.State.Name(), status.Failure, next, processes,
            status.ChangedOnDisk, status.Disabled);
    }
}
