using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>initctl's output formats (spec §10), from protocol messages.</summary>
internal static class StatusFormatter
{
    private static readonly string[] ProcessOrder = ["main", "pre-start", "post-start", "pre-stop", "post-stop", "check"];

    /// <summary>
    /// <c>ticker start/running, process 4825</c>; extra processes on tab-indented lines. After initctl's prefix supd
    /// adds <c> (failed: REASON)</c> to a job that stopped because it failed, and <c>, next in 4.2s</c> while a
    /// respawn delay runs; after the first line's processes, <c> (disabled)</c> for a job supctl disable took out of
    /// event-driven starts.
    /// </summary>
    public static string StatusLine(JobStatus status)
    {
        var name = status.Instance.Length == 0 ? status.Job : $"{status.Job} ({status.Instance})";
        var line = $"{name} {status.Goal}/{status.State}";
        if (status.State == "waiting" && status.Failure.Length > 0) line += $" (failed: {status.Failure})";
        if (status.State == "respawning") line += FormattableString.Invariant($", next in {status.NextRespawnMs / 1000.0:0.0}s");
        var processes = status.Processes.OrderBy(p => Array.IndexOf(ProcessOrder, p.Kind)).ToList();
        // initctl's prefix stays first, so scripts that parse it still work.
        var changed = (status.ChangedOnDisk ? " (changed on disk, restart to apply)" : "") + (status.Disabled ? " (disabled)" : "");
        if (processes.Count == 0) return line + changed;
        var first = processes[0];
        line += first.Kind is "main" or "pre-start" or "post-stop"
            ? $", process {first.Pid}"
            : $", ({first.Kind}) process {first.Pid}";
        line += changed;
        foreach (var process in processes.Skip(1)) line += $"\n\t{process.Kind} process {process.Pid}";
        return line;
    }
}
