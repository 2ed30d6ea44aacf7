using System.Globalization;
using System.Net;
using System.Text;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes.Containment;
using Supervisor.Core.Processes;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The status page at <c>/</c> of the HTTP listener: read-only, one card per job and instance (state, uptime,
/// restarts, health, resources, last log lines), rendered by supd from one status list (the loop's, as /metrics) and
/// refreshed by the browser every <see cref="RefreshSeconds"/> s (meta refresh: no script, no external asset; the
/// Content-Security-Policy allows none). Every text from a job (names, log lines, messages) is HTML-escaped. Bounded:
/// at most <see cref="Limits.MaxObservedInstances"/> cards, <see cref="Limits.StatusLogLines"/> lines of at most
/// <see cref="Limits.MaxStatusLogLineChars"/> characters each, read from the last <see cref="Limits.StatusLogTailBytes"/>
/// of each log (no symlink followed).
/// </summary>
public sealed class StatusPage(SupervisorLoop loop, IJobContainment containment, SupdMetrics metrics, TimeProvider time)
{
    public const int RefreshSeconds = 10;

    /// <summary>No script, no frame, nothing from elsewhere: only the page's own inline style.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public async Task<string> RenderAsync()
    {
        var list = await loop.ListAsync().ConfigureAwait(false);
        var now = time.GetUtcNow();
        var running = list.Count(s => s.State == JobState.Running);
        var failed = list.Count(s => s.Failure is not null);
        var html = new StringBuilder(4096 + Math.Min(list.Count, Limits.MaxObservedInstances) * 1024);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            """);
        html.Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{RefreshSeconds}\">\n");
        html.Append(CultureInfo.InvariantCulture, $"<title>supd on {E(Environment.MachineName)}</title>\n");
        html.Append(Style);
        html.Append("</head><body>\n<header><h1>supd on ").Append(E(Environment.MachineName)).Append("</h1>\n<p class=\"summary\">");
        html.Append(CultureInfo.InvariantCulture, $"<span>{list.Select(s => s.Job).Distinct(StringComparer.Ordinal).Count()} jobs</span> ");
        html.Append(CultureInfo.InvariantCulture, $"<span class=\"ok\">{running} running</span> ");
        html.Append(CultureInfo.InvariantCulture, $"<span class=\"{(failed > 0 ? "bad" : "")}\">{failed} failed</span> ");
        html.Append(CultureInfo.InvariantCulture, $"<span>up {Duration(now - metrics.Started)}</span> ");
        html.Append(CultureInfo.InvariantCulture, $"<span class=\"muted\">{E(Grpc.SupervisorService.VersionText)} · read-only · refreshes every {RefreshSeconds} s · {now:yyyy-MM-dd HH:mm:ss} UTC</span>");
        html.Append("</p></header>\n<main>\n");
        // The containment's accounting, as supctl show prints it; one scan of /proc serves the whole page.
        var resources = new JobResources(containment);
        foreach (var s in list.Take(Limits.MaxObservedInstances)) Card(html, s, now, resources);
        if (list.Count > Limits.MaxObservedInstances)
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"omitted\">{list.Count - Limits.MaxObservedInstances} more instances are not shown (the page shows at most {Limits.MaxObservedInstances}); <code>supctl list</code> shows them all.</p>\n");
        if (list.Count == 0) html.Append("<p class=\"omitted\">No jobs are loaded.</p>\n");
        html.Append("</main>\n</body></html>\n");
        return html.ToString();
    }

    private static void Card(StringBuilder html, JobStatusSnapshot s, DateTimeOffset now, JobResources resources)
    {
        var tone = s.Failure is not null ? "bad" : s.State == JobState.Running ? "ok" : s.State == JobState.Waiting ? "idle" : "busy";
        var name = StatusLineFormat.DisplayName(s.Job, s.Instance);
        html.Append(CultureInfo.InvariantCulture, $"<article class=\"job {tone}\" data-job=\"{E(s.Job)}\" data-instance=\"{E(s.Instance)}\">\n");
        html.Append(CultureInfo.InvariantCulture, $"<h2><span class=\"name\">{E(name)}</span> <span class=\"state\">{E(s.Goal.Name())}/{E(s.State.Name())}</span></h2>\n");
        if (!string.IsNullOrEmpty(s.Description)) html.Append(CultureInfo.InvariantCulture, $"<p class=\"description\">{E(s.Description)}</p>\n");
        html.Append("<dl>");
        var main = s.MainPid;
        Field(html, "pid", main > 0 ? main.ToString(CultureInfo.InvariantCulture) : "—");
        Field(html, "uptime", s.MainStarted is { } started && s.State == JobState.Running ? Duration(now - started) : "—");
        Field(html, "restarts", s.RespawnCount.ToString(CultureInfo.InvariantCulture));
        // A job without a health check has none; "unhealthy" names why (the tone of the card stays its state's).
        Field(html, "health", s.Health is not { } health ? "—" : health.UnhealthyReason is { } why ? $"unhealthy: {why}" : health.Status);
        var usage = resources.Of(main);
        Field(html, "cpu", usage is { } u ? $"{(u.CpuUsec / 1_000_000.0).ToString("0.##", CultureInfo.InvariantCulture)} s" : "—");
        Field(html, "memory", usage is { } m ? Limits.Bytes(m.MemoryBytes) : "—");
        Field(html, "last exit", s.LastExit?.ToString() ?? "—", wide: true);
        html.Append("</dl>\n");
        if (s.Failure is not null) html.Append(CultureInfo.InvariantCulture, $"<p class=\"failure\">{E(s.Failure)}</p>\n");
        else if (s.StopReason is not null) html.Append(CultureInfo.InvariantCulture, $"<p class=\"reason\">stopped: {E(s.StopReason)}</p>\n");
        var lines = LastLines(s.LogPath);
        if (lines.Count > 0)
        {
            html.Append("<pre class=\"log\">");
            foreach (var line in lines) html.Append(E(line)).Append('\n');
            html.Append("</pre>\n");
        }
        html.Append("</article>\n");
    }

    private static void Field(StringBuilder html, string name, string value, bool wide = false) =>
        html.Append(CultureInfo.InvariantCulture, $"<div{(wide ? " class=\"wide\"" : "")}><dt>{name}</dt><dd>{E(value)}</dd></div>");

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>"3d 4h", "2h 5m", "4m 10s", "12s".</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero) span = TimeSpan.Zero;
        return span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h"
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes}m"
            : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m {span.Seconds}s"
            : $"{(int)span.TotalSeconds}s";
    }

    /// <summary>
    /// The last <see cref="Limits.StatusLogLines"/> lines of a log, from its last <see cref="Limits.StatusLogTailBytes"/>
    /// (no symlink followed), each cut at <see cref="Limits.MaxStatusLogLineChars"/>, control characters shown as
    /// U+FFFD; none when there is no log or it cannot be read.
    /// </summary>
    public static IReadOnlyList<string> LastLines(string path)
    {
        if (string.IsNullOrEmpty(path)) return [];
        try
        {
            using var file = NoFollowFile.OpenRead(path);
            if (file is null) return [];
            var start = Math.Max(0, file.Length - Limits.StatusLogTailBytes);
            file.Position = start;
            var buffer = new byte[(int)(file.Length - start)];
            var read = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var text = Encoding.UTF8.GetString(buffer, 0, read);
            var lines = text.Split('\n').Where(l => l.Length > 0).ToList();
            // The first line began before what was read: left out, unless it is all there is (a very long line).
            if (start > 0 && lines.Count > 1 && buffer[0] != (byte)'\n') lines.RemoveAt(0);
            return lines.TakeLast(Limits.StatusLogLines).Select(Shown).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Shown(string line)
    {
        var cut = line.Length > Limits.MaxStatusLogLineChars ? line[..Limits.MaxStatusLogLineChars] + " …" : line;
        return string.Create(cut.Length, cut, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) && source[i] != '\t' ? '\uFFFD' : source[i];
        });
    }

    // Readable from a phone (one column) to a laptop (as many as fit); light and dark follow the system.
    private const string Style = """
        <style>
        :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --busy: #9a6700; --idle: #6e7781; --line: #d0d7de; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
        header { padding: 0.8rem 1rem; border-bottom: 1px solid var(--line); }
        h1 { margin: 0 0 0.3rem; font-size: 1.3rem; word-break: break-all; }
        .summary { margin: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; }
        .summary .ok { color: var(--ok); } .summary .bad { color: var(--bad); font-weight: 600; } .muted { opacity: 0.7; }
        main { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); gap: 0.8rem; padding: 1rem; }
        .job { border: 1px solid var(--line); border-left: 6px solid var(--idle); border-radius: 6px; padding: 0.6rem 0.8rem; min-width: 0; }
        .job.ok { border-left-color: var(--ok); } .job.bad { border-left-color: var(--bad); } .job.busy { border-left-color: var(--busy); }
        h2 { margin: 0; font-size: 1.05rem; display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.5rem; }
        .name { word-break: break-all; }
        .state { font-weight: 500; font-family: ui-monospace, monospace; font-size: 0.9rem; }
        .ok .state { color: var(--ok); } .bad .state { color: var(--bad); } .busy .state { color: var(--busy); } .idle .state { color: var(--idle); }
        .description, .reason { margin: 0.2rem 0; opacity: 0.8; }
        .failure { margin: 0.3rem 0; color: var(--bad); word-break: break-word; }
        dl { display: grid; grid-template-columns: repeat(auto-fill, minmax(6.5rem, 1fr)); gap: 0.2rem 0.8rem; margin: 0.5rem 0; }
        dl div { min-width: 0; } dl div.wide { grid-column: 1 / -1; } dt { font-size: 0.75rem; text-transform: uppercase; opacity: 0.65; } dd { margin: 0; word-break: break-word; }
        .log { margin: 0.4rem 0 0; padding: 0.4rem; font-size: 0.8rem; background: rgba(127,127,127,0.12); border-radius: 4px;
               white-space: pre-wrap; word-break: break-all; max-height: 8rem; overflow: auto; }
        .omitted { grid-column: 1 / -1; opacity: 0.8; }
        </style>

        """;
}
