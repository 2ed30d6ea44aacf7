using System.Globalization;
using System.Text;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Language;

/// <summary>
/// Renders a whole job back as stanzas (Upstart show-config style for <c>start on</c>/<c>stop on</c>: fully
/// parenthesised). Values are quoted where needed so that <c>JobParser.Parse(Print(job))</c> gives an equal job,
/// apart from <see cref="JobDefinition.SourcePath"/>, <see cref="JobDefinition.OverridePath"/> and line numbers.
/// Only non-default settings are printed.
/// </summary>
public static class JobPrinter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Print(JobDefinition job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var output = new StringBuilder();

        void Line(string text) => output.Append(text).Append('\n');
        void Value(string stanza, string? value)
        {
            if (value is not null) Line(stanza + " " + Quote(value));
        }

        Value("description", job.Description);
        Value("author", job.Author);
        Value("version", job.Version);
        Value("usage", job.Usage);
        foreach (var emitted in job.Emits) Line("emits " + Quote(emitted));

        // manual first: it clears only a start on seen before it, so this order keeps both.
        if (job.Manual) Line("manual");
        if (job.StartOn is not null) Line("start on " + PrintExpression(job.StartOn));
        if (job.StopOn is not null) Line("stop on " + PrintExpression(job.StopOn));

        if (job.Instance.Length > 0) Value("instance", job.Instance);
        foreach (var env in job.Env) Line("env " + Quote(env));
        foreach (var file in job.EnvFiles) Line("env-file " + Quote((file.Optional ? "-" : "") + file.Path));
        foreach (var name in job.Export) Line("export " + Quote(name));

        if (job.Task) Line("task");
        if (job.Respawn) Line("respawn");
        if (job.RespawnLimit != Defaults.Job.RespawnLimit)
            Line(FormattableString.Invariant($"respawn limit {job.RespawnLimit.Count} {job.RespawnLimit.IntervalSeconds}"));
        if (job.RespawnDelay is { } delay)
            Line($"respawn delay {delay.MinSeconds.ToString("R", Invariant)} {delay.MaxSeconds.ToString("R", Invariant)}");
        if (job.NormalExit.Count > 0) Line("normal exit " + string.Join(' ', job.NormalExit));
        if (job.StartGrace is { } grace) Line("start grace " + grace.TotalSeconds.ToString("R", Invariant));
        if (job.Critical) Line("critical");

        if (job.Console != Defaults.Job.Console) Line("console " + job.Console.Name());
        if (job.Expect != Defaults.Job.Expect) Line("expect " + job.Expect.Name());
        if (job.Umask is { } umask) Line("umask 0" + Convert.ToString(umask, 8));
        if (job.Nice is { } nice) Line("nice " + nice.ToString(Invariant));
        if (job.OomScore is { } oom) Line("oom score " + oom.ToString(Invariant));
        foreach (var (resource, limit) in job.Limits.OrderBy(l => l.Key, StringComparer.Ordinal))
            Line($"limit {resource} {LimitValue(limit.Soft)} {LimitValue(limit.Hard)}");
        Value("chroot", job.Chroot);
        Value("chdir", job.Chdir);
        Value("setuid", job.Setuid);
        Value("setgid", job.Setgid);
        if (job.KillSignal != Defaults.Job.KillSignal) Line("kill signal " + Signals.Name(job.KillSignal));
        if (job.KillTimeout != Defaults.Job.KillTimeout) Line("kill timeout " + ((long)job.KillTimeout.TotalSeconds).ToString(Invariant));
        if (job.ReloadSignal != Defaults.Job.ReloadSignal) Line("reload signal " + Signals.Name(job.ReloadSignal));
        Value("apparmor load", job.ApparmorLoad);
        Value("apparmor switch", job.ApparmorSwitch);
        foreach (var cgroup in job.Cgroups) Line("cgroup " + cgroup);
        if (job.MemoryMax is { } memory) Line("memory max " + memory.ToString(Invariant));
        if (job.TasksMax is { } tasks) Line("tasks max " + tasks.ToString(Invariant));
        if (job.CpuWeight is { } weight) Line("cpu weight " + weight.ToString(Invariant));
        if (job.LogRotate is { } rotate) Line(FormattableString.Invariant($"log rotate {rotate.SizeBytes} {rotate.Count}"));
        if (job.LogTimestamps) Line("log timestamps");
        var health = job.HealthSettings;
        var usual = Defaults.Job.Health;
        if (health.Interval != usual.Interval) Line("health interval " + health.Interval.TotalSeconds.ToString("R", Invariant));
        if (health.Timeout != usual.Timeout) Line("health timeout " + health.Timeout.TotalSeconds.ToString("R", Invariant));
        if (health.Retries != usual.Retries) Line("health retries " + health.Retries.ToString(Invariant));
        if (health.StartPeriod != usual.StartPeriod) Line("health start-period " + health.StartPeriod.TotalSeconds.ToString("R", Invariant));

        foreach (var process in ProcessKinds.All) Process(output, process.Stanza, process.Command(job));
        return output.ToString();
    }

    /// <summary>
    /// Fully parenthesised like show-config (<c>((a and b) or c KEY=val)</c>), but with words quoted where the
    /// tokenizer needs it, so the text parses back to the same tree.
    /// </summary>
    public static string PrintExpression(EventExpression expression) => expression switch
    {
        EventAnd and => $"({PrintExpression(and.Left)} and {PrintExpression(and.Right)})",
        EventOr or => $"({PrintExpression(or.Left)} or {PrintExpression(or.Right)})",
        EventMatch match => string.Join(' ', match.Arguments.Select(PrintArgument).Prepend(QuoteEventWord(match.Name))),
        _ => throw new ArgumentException($"Unknown expression node {expression.GetType().Name}", nameof(expression)),
    };

    private static string PrintArgument(EventArgument argument) =>
        QuoteEventWord(argument.Key is null ? argument.Pattern : $"{argument.Key}{(argument.Negated ? "!=" : "=")}{argument.Pattern}");

    // Bare and/or would be read as operators; parentheses end words inside expressions.
    private static string QuoteEventWord(string word) =>
        word is "and" or "or" || word.AsSpan().IndexOfAny("()") >= 0 ? ForceQuote(word) : Quote(word);

    private static void Process(StringBuilder output, string? stanza, ProcessCommand? command)
    {
        if (command is null) return;
        var prefix = stanza is null ? "" : stanza + " ";
        if (!command.IsScript)
        {
            output.Append(prefix).Append("exec ").Append(command.Text).Append('\n');
            return;
        }
        output.Append(prefix).Append("script\n").Append(command.Text).Append("end script\n");
    }

    private static string LimitValue(ulong? value) => value?.ToString(Invariant) ?? "unlimited";

    /// <summary>Quotes a value only when it contains characters the tokenizer would treat specially.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.AsSpan().IndexOfAny(" \t\r\n#\"'\\") < 0 ? value : ForceQuote(value);

    /// <summary>
    /// Double quotes, switching to single quotes for stretches that contain a double quote (quotes are removed
    /// anywhere in a token, so adjacent quoted parts join); backslashes are doubled because <c>\\</c> dequotes to one.
    /// </summary>
    private static string ForceQuote(string value)
    {
        var output = new StringBuilder(value.Length + 2);
        var quote = '\0';
        foreach (var c in value)
        {
            var wanted = c == '"' ? '\'' : c == '\'' ? '"' : quote == '\0' ? '"' : quote;
            if (wanted != quote)
            {
                if (quote != '\0') output.Append(quote);
                output.Append(wanted);
                quote = wanted;
            }
            if (c == '\\') output.Append('\\');
            output.Append(c);
        }
        if (quote == '\0') return "\"\"";
        return output.Append(quote).ToString();
    }
}
