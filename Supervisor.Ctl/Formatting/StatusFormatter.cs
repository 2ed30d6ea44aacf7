using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>initctl's output formats (spec §10), from protocol messages.</summary>
internal static class StatusFormatter
{
    private static readonly string[] ProcessOrder = ["main", "pre-start", "post-start", "pre-stop", "post-stop", "check"];

    /// <summary><c>ticker start/running, process 4825</c>; extra processes on tab-indented lines.</summary>
    public static string StatusLine(JobStatus status)
    {
        var name = status.Instance.Length == 0 ? status.Job : $"{status.Job} ({status.Instance})";
        var line = $"{name} {status.Goal}/{status.State}";
        var processes = status.Processes.OrderBy(p => Array.IndexOf(ProcessOrder, p.Kind)).ToList();
        // initctl's prefix stays first, so scripts that parse it still work.
        var changed = status.ChangedOnDisk ? " (changed on disk, restart to apply)" : "";
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
