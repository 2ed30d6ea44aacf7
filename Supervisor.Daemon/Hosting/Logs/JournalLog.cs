using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

/// <summary>The journal supd sends to with <c>LogToJournal</c> (job lines and its own log); <see cref="Sink"/> is null without it.</summary>
public sealed class JournalTarget : IDisposable
{
    public JournalTarget(IOptions<JobLogOptions> options, ILogger<JournalSink> log) =>
        Sink = options.Value.LogToJournal ? new JournalSink(options.Value.JournalSocket, log) : null;

    public JournalSink? Sink { get; }

    public void Dispose() => Sink?.Dispose();

    public static void Register(IServiceCollection services) => services.TryAddSingleton<JournalTarget>();
}

/// <summary>
/// supd's own log to the journal: SYSLOG_IDENTIFIER=supd, PRIORITY from the level, MESSAGE the rendered line (with an
/// exception's first line). Properties were escaped by <see cref="ControlCharacterEscaper"/> before any sink saw them.
/// </summary>
public sealed class SupdJournalSink(Func<JournalTarget> target) : ILogEventSink
{
    // Resolved at the first line, not when Serilog is configured: the target's logger needs the logger factory
    // that configuration is building.
    private JournalTarget? _journal;

    private readonly MessageTemplateTextFormatter _formatter = new("{Message:lj}", System.Globalization.CultureInfo.InvariantCulture);

    public void Emit(LogEvent logEvent)
    {
        if ((_journal ??= target()).Sink is not { } sink) return;
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        _formatter.Format(logEvent, text);
        if (logEvent.Exception is { } exception) text.Write(": " + LogText.Escape(exception.Message));
        sink.SupdLine(Priority(logEvent.Level), text.ToString());
    }

    public static int Priority(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => JournalSink.Error - 1, // crit
        LogEventLevel.Error => JournalSink.Error,
        LogEventLevel.Warning => JournalSink.Warning,
        LogEventLevel.Information => JournalSink.Info,
        _ => JournalSink.Debug,
    };
}
