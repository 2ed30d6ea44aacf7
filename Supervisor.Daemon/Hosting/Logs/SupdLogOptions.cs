using Supervisor.Core;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

/// <summary>supd's own log (<c>LogLevel</c>, <c>SUPD_LOGLEVEL</c>, <c>--log-level</c>): stderr and LOGDIR/supd.log.</summary>
public sealed class SupdLogOptions
{
    /// <summary>
    /// What supd writes to stderr and supd.log: Debug, Information (default), Warning or Error. Information is one line
    /// per job start, main process exit and stop, plus warnings and failures; Debug adds every goal and state change,
    /// spawn, signal and event, and each allowed request (denied ones are always logged).
    /// </summary>
    public string LogLevel { get; set; } = Defaults.Daemon.LogLevel;

    /// <summary>LogLevel: Debug, Information, Warning or Error (any case; Trace/Verbose and Critical/Fatal too).</summary>
    public static LogEventLevel ParseLogLevel(string text) => text.Trim().ToUpperInvariant() switch
    {
        "TRACE" or "VERBOSE" => LogEventLevel.Verbose,
        "DEBUG" => LogEventLevel.Debug,
        "INFORMATION" or "INFO" => LogEventLevel.Information,
        "WARNING" or "WARN" => LogEventLevel.Warning,
        "ERROR" => LogEventLevel.Error,
        "CRITICAL" or "FATAL" => LogEventLevel.Fatal,
        _ => throw new StartupException($"LogLevel is not one of Debug, Information, Warning, Error: {text}"),
    };
}

public sealed class SupdLogOptionsValidator : IValidateOptions<SupdLogOptions>
{
    public ValidateOptionsResult Validate(string? name, SupdLogOptions options) =>
        SupdOptionsRegistration.Check(() => SupdLogOptions.ParseLogLevel(options.LogLevel));
}
