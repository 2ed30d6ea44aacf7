using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// Escapes control characters in every string property of a log event before any sink renders it (supd.log, stderr
/// and so journald): the message templates are supd's own text, the properties carry what users chose (names,
/// variables, paths). One enricher covers every log line, the access audit lines included, where escaping at each
/// call site would miss the next one.
/// </summary>
public sealed class ControlCharacterEscaper : ILogEventEnricher
{
    private const int MaxDepth = 8;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? changed = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            var escaped = Escape(value, 0);
            if (!ReferenceEquals(escaped, value)) (changed ??= []).Add(new LogEventProperty(name, escaped));
        }
        if (changed is null) return;
        foreach (var property in changed) logEvent.AddOrUpdateProperty(property);
    }

    // The same value when nothing needed escaping, so a plain event allocates nothing.
    private static LogEventPropertyValue Escape(LogEventPropertyValue value, int depth)
    {
        if (depth > MaxDepth) return value;
        switch (value)
        {
            case ScalarValue { Value: string text }:
                var escaped = LogText.Escape(text);
                return ReferenceEquals(escaped, text) ? value : new ScalarValue(escaped);
            case SequenceValue sequence:
                var elements = sequence.Elements.Select(e => Escape(e, depth + 1)).ToArray();
                return elements.Where((e, i) => !ReferenceEquals(e, sequence.Elements[i])).Any() ? new SequenceValue(elements) : value;
            case StructureValue structure:
                var properties = structure.Properties.Select(p => new LogEventProperty(p.Name, Escape(p.Value, depth + 1))).ToArray();
                return properties.Where((p, i) => !ReferenceEquals(p.Value, structure.Properties[i].Value)).Any()
                    ? new StructureValue(properties, structure.TypeTag) : value;
            default:
                return value;
        }
    }
}

/// <summary>
/// supd's own log, <c>LOGDIR/supd.log</c>, written through a <see cref="JobLogFile"/> as job logs are: mode 0600 (it
/// holds job variables), never through a symlink, rotated by size to <c>supd.log.1</c> …, and closed by
/// <c>reopen-logs</c>/SIGUSR1 like the job logs, so an external logrotate never leaves supd writing a deleted file.
/// An exception's text is indented: only the line supd wrote starts at column 0.
/// </summary>
public sealed class SupdLogFileSink : ILogEventSink, IDisposable
{
    public const int Mode0600 = 0x180;
    private static readonly LogRotation Rotation = Supervisor.Core.Defaults.Logs.SupdLogRotation;

    private readonly MessageTemplateTextFormatter _formatter =
        new("{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Message:lj}{NewLine}", System.Globalization.CultureInfo.InvariantCulture);
    private readonly Lock _gate = new();
    private readonly StringWriter _text = new(System.Globalization.CultureInfo.InvariantCulture);

    public SupdLogFileSink(string path)
    {
        // Its own troubles are counted (BytesDropped), not logged: that would come back here.
        File = new JobLogFile(path, NullLogger.Instance, Rotation, mode: Mode0600);
        // One written by an older supd was 0644.
        Supervisor.Core.Processes.NoFollowFile.Chmod(path, Mode0600);
    }

    public JobLogFile File { get; }

    public void Emit(LogEvent logEvent)
    {
        byte[] bytes;
        lock (_gate)
        {
            _text.GetStringBuilder().Clear();
            _formatter.Format(logEvent, _text);
            if (logEvent.Exception is { } exception)
            {
                foreach (var line in exception.ToString().Split('\n'))
                    _text.Write("    " + LogText.Escape(line.TrimEnd('\r')) + "\n");
            }
            bytes = Encoding.UTF8.GetBytes(_text.GetStringBuilder().ToString());
        }
        File.Write(bytes);
    }

    public void Dispose() => File.Dispose();
}
