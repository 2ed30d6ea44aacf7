using System.Globalization;
using System.Text;
using Supervisor.Core.Lifecycle;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl show JOB</c>: everything needed to see why a job is as it is, in one block (in the spirit of
/// <c>systemctl status</c>): what it is, where it stands and since when, its main process, how it last ended, why it
/// failed, when it respawns next, its log, and the log's last lines. Rows with nothing to say are left out.
/// </summary>
internal static class ShowFormatter
{
    public static IEnumerable<string> Lines(JobStatus status, string logTail, int tailLines, DateTimeOffset now)
    {
        var name = StatusLineFormat.DisplayName(status.Job, status.Instance);
        yield return status.Description.Length == 0 ? name : $"{name} - {status.Description}";

        var rows = new List<(string Label, string Value)>();
        if (status.SourcePath.Length > 0)
            rows.Add(("Job file", status.SourcePath + (status.ChangedOnDisk ? " (changed on disk; applies at the next start)" : "")));
        var state = $"{status.Goal.Name()}/{status.State.Name()}";
        if (status.SinceUnixMs > 0) state += $" since {When(status.SinceUnixMs, now)}";
        rows.Add(("State", state));
        if (status.StopReason.Length > 0) rows.Add((status.Goal == Goal.Stop && status.State == State.Waiting ? "Stopped" : "Stopping", status.StopReason));
        if (status.Disabled)
        {
            var since = status.DisabledSinceUnixMs > 0 ? $" since {When(status.DisabledSinceUnixMs, now)}" : "";
            rows.Add(("Disabled", $"by {status.DisabledBy}{since}: no event starts it (supctl enable undoes it)"));
        }
        var main = status.Processes.FirstOrDefault(p => p.Kind == ProcessKind.Main);
        if (main is not null)
        {
            var value = main.Pid.ToString(CultureInfo.InvariantCulture);
            if (status.MainCommand.Length > 0) value += $" ({Shorten(status.MainCommand, 100)})";
            if (status.MainStartedUnixMs > 0) value += $", up {Duration(now - FromUnixMs(status.MainStartedUnixMs))}";
            rows.Add(("Main PID", value));
            if (status.AdoptedUnixMs > 0)
                rows.Add(("Adopted", $"after supd restart, {When(status.AdoptedUnixMs, now)}: not supd's child, so its exit status will be unknown"));
        }
        var others = status.Processes.Where(p => p.Kind != ProcessKind.Main).Select(p => $"{p.Kind.Name()} {p.Pid}").ToArray();
        if (others.Length > 0) rows.Add(("Processes", string.Join(", ", others)));
        if (status.Resources is { } resources) rows.AddRange(ResourcesFormatter.Rows(resources));
        if (status.RespawnCount > 0) rows.Add(("Respawns", status.RespawnCount.ToString(CultureInfo.InvariantCulture)));
        if (status.LastExit is { } exit) rows.Add(("Last exit", LastExit(exit, now)));
        if (status.Failure.Length > 0) rows.Add(("Failure", status.Failure));
        if (status.NextRespawnMs > 0) rows.Add(("Backoff", $"next respawn in {Duration(TimeSpan.FromMilliseconds(status.NextRespawnMs))}"));
        if (status.ExpectProblem.Length > 0) rows.Add(("Expect", status.ExpectProblem));
        if (status.Health.Length > 0) AddHealth(rows, status, now);
        foreach (var hint in status.NotApplied) rows.Add(("Not applied", hint));
        if (status.LogPath.Length > 0)
        {
            var dropped = status.LogBytesDropped > 0
                ? $" ({status.LogBytesDropped.ToString(CultureInfo.InvariantCulture)} bytes dropped: see supd's log)"
                : "";
            rows.Add(("Log", status.LogPath + dropped));
        }

        var width = rows.Max(r => r.Label.Length);
        // A row without a label continues the one above it (a health check's last lines).
        foreach (var (label, value) in rows) yield return label.Length == 0 ? $"{new string(' ', width + 4)}{value}" : $"{label.PadLeft(width + 2)}: {value}";

        yield return "";
        var lines = LogLines(logTail);
        if (lines.Length == 0)
        {
            yield return "No output logged yet.";
            yield break;
        }
        yield return $"Last {Math.Min(lines.Length, tailLines)} log lines:";
        foreach (var line in lines) yield return "  " + line;
    }

    // "Health: unhealthy (check failed 3 times); last check exit 1, 2026-… (4s ago)", then the check's last lines.
    private static void AddHealth(List<(string Label, string Value)> rows, JobStatus status, DateTimeOffset now)
    {
        var value = status.Health;
        if (status.UnhealthyReason.Length > 0) value += $" ({status.UnhealthyReason})";
        else if (status.HealthFailures > 0) value += $" ({status.HealthFailures.ToString(CultureInfo.InvariantCulture)} failed in a row)";
        value += status.HealthLastUnixMs > 0
            ? $"; last check {(status.HealthLastPassed ? "passed" : "failed")}: {status.HealthLastOutcome}, {When(status.HealthLastUnixMs, now)}"
            : "; not checked yet";
        rows.Add(("Health", value));
        foreach (var line in status.HealthLastOutput) rows.Add(("", "  " + line));
    }

    private static string LastExit(ProcessExit exit, DateTimeOffset now)
    {
        var text = new StringBuilder($"{exit.Process.Name()} process");
        if (exit.Pid > 0) text.Append(CultureInfo.InvariantCulture, $" {exit.Pid}");
        text.Append(exit.SpawnError.Length > 0 ? $" failed to spawn: {exit.SpawnError}"
            : exit.OutOfMemory.Length > 0 ? $" {exit.OutOfMemory}"
            : exit.SignalName.Length > 0 ? $" killed by signal {exit.SignalName}"
            : $" exited with status {exit.ExitStatus.ToString(CultureInfo.InvariantCulture)}");
        if (exit.UnixMs > 0) text.Append(", ").Append(When(exit.UnixMs, now));
        return text.ToString();
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>"2026-11-24 18:01:02 +00:00 (3min 4s ago)".</summary>
    private static string When(long unixMs, DateTimeOffset now)
    {
        var then = FromUnixMs(unixMs).ToLocalTime();
        return $"{then.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)} ({Duration(now - then)} ago)";
    }

    /// <summary>systemd's style: "2d 3h", "3h 12min", "3min 4s", "4.2s", "120ms".</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero) span = TimeSpan.Zero;
        if (span.TotalSeconds < 1) return $"{(int)span.TotalMilliseconds}ms";
        if (span.TotalSeconds < 10) return span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
        if (span.TotalMinutes < 1) return $"{(int)span.TotalSeconds}s";
        if (span.TotalHours < 1) return $"{span.Minutes}min {span.Seconds}s";
        if (span.TotalDays < 1) return $"{span.Hours}h {span.Minutes}min";
        return $"{(int)span.TotalDays}d {span.Hours}h";
    }

    /// <summary>The log tail as lines, as the job wrote them (blank lines kept, a trailing CR dropped).</summary>
    public static string[] LogLines(string logTail) =>
        logTail.Length == 0 ? [] : logTail.TrimEnd('\n').Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
}
