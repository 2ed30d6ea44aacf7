namespace Supervisor.Core.Lifecycle;

/// <summary>
/// initctl's status line (spec §10), formatted in one place for supd (<c>JobStatusSnapshot.StatusLine</c>) and
/// supctl (linked into it, as DefaultPaths is): plain values in, Upstart's names for goal, state and process kinds.
/// <code>
/// ticker start/running, process 4825
/// web stop/waiting (failed: respawning too fast, more than 10 times in 5s)
/// web start/respawning, next in 4.2s
/// db start/post-start, process 812
///         post-start process 815
/// </code>
/// After initctl's prefix (kept first, so scripts that parse it still work) supd adds <c> (failed: REASON)</c> to a
/// job that stopped because it failed, <c>, next in 4.2s</c> while a respawn delay runs, and after the first line's
/// process <c> (unhealthy: check failed 3 times)</c>, <c> (changed on disk, restart to apply)</c> and
/// <c> (disabled)</c>, and <c> (adopted after supd restart)</c> for a main process supd took back after it was
/// restarted (its exit status cannot be known). Further processes follow on tab-indented lines.
/// </summary>
public static class StatusLineFormat
{
    /// <summary>How supd names an instance everywhere it shows one: <c>nagios</c>, or <c>worker (eu-1)</c>.</summary>
    public static string DisplayName(string job, string instance) => instance.Length == 0 ? job : $"{job} ({instance})";

    /// <param name="processes">Live processes in initctl's order (main, pre-start, post-start, pre-stop, post-stop, check).</param>
    /// <param name="nextRespawn">Time left while a respawn delay runs; null otherwise.</param>
    /// <param name="unhealthy">Why the health check found the instance unhealthy ("check failed 3 times"); null or empty otherwise.</param>
    public static string Format(
        string job, string instance, string goal, string state, string? failure, TimeSpan? nextRespawn,
        IReadOnlyList<(string Kind, int Pid)> processes, bool changedOnDisk, bool disabled, string? unhealthy = null, bool adopted = false)
    {
        var line = $"{DisplayName(job, instance)} {goal}/{state}";
        if (state == "waiting" && !string.IsNullOrEmpty(failure)) line += $" (failed: {failure})";
        if (nextRespawn is { } next) line += FormattableString.Invariant($", next in {next.TotalSeconds:0.0}s");
        var marks = (string.IsNullOrEmpty(unhealthy) ? "" : $" (unhealthy: {unhealthy})")
            + (changedOnDisk ? " (changed on disk, restart to apply)" : "") + (disabled ? " (disabled)" : "")
            + (adopted ? " (adopted after supd restart)" : "");
        if (processes.Count == 0) return line + marks;
        var (firstKind, firstPid) = processes[0];
        // initctl names the process only when it is not the one the state implies.
        line += firstKind is "main" or "pre-start" or "post-stop" ? $", process {firstPid}" : $", ({firstKind}) process {firstPid}";
        line += marks;
        for (var i = 1; i < processes.Count; i++) line += $"\n\t{processes[i].Kind} process {processes[i].Pid}";
        return line;
    }
}
