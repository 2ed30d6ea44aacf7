using Supervisor.Core;
using Microsoft.Extensions.Options;
using Supervisor.Core.Configuration;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The job logs' settings (<see cref="JobLogServiceCollectionExtensions.AddJobLogs"/>): supd.json keys <c>LogDir</c>,
/// <c>LogRotateSize</c>, …, <c>SUPD_LOGDIR</c>, …, <c>--log-dir</c> and <c>--log-to-stdout</c>, <c>--log-to-journal</c>.
/// </summary>
public sealed class JobLogOptions
{
    /// <summary>The directory of job logs and supd.log, absolute once configured; not set: the default for supd's user.</summary>
    public string? LogDir { get; set; }

    /// <summary>Job logs rotate past this size (bytes, or with a K, M or G suffix) unless a job says <c>log rotate</c>.</summary>
    public string LogRotateSize { get; set; } = Defaults.Logs.RotateSize;

    /// <summary>How many rotated files (<c>JOB.log.1</c> … <c>JOB.log.N</c>) are kept; 0 keeps none.</summary>
    public int LogRotateCount { get; set; } = Defaults.Logs.RotateCount;

    /// <summary>
    /// How many finished instances of each instance job keep their log (<c>JOB-INSTANCE.log</c> and its rotated
    /// copies); older ones are removed, oldest first, as more instances finish. 0 removes a log when its instance ends.
    /// </summary>
    public int InstanceLogRetention { get; set; } = Defaults.Logs.InstanceLogRetention;

    /// <summary>Prefix every line of every job log with an ISO-8601 time (a job can ask for it alone: <c>log timestamps</c>).</summary>
    public bool LogTimestamps { get; set; }

    /// <summary>Also write every job line to supd's stdout as <c>JOB| line</c> (for containers: <c>docker logs</c>).</summary>
    public bool LogToStdout { get; set; }

    /// <summary>Also send every job line, and supd's own log, to journald (<c>journalctl -t JOB</c>; <c>--log-to-journal</c>).</summary>
    public bool LogToJournal { get; set; }

    /// <summary>journald's native socket (a datagram socket); another path is for tests.</summary>
    public string JournalSocket { get; set; } = JournalSink.DefaultSocket;

    /// <summary>The daemon-wide log rotation (LogRotateSize, LogRotateCount); a bad value is a <see cref="StartupException"/>.</summary>
    public LogRotation ParseRotation()
    {
        if (!JobParser.TryParseSize(LogRotateSize.Trim(), out var size))
            throw new StartupException($"LogRotateSize is not a size (bytes, or a number with K, M or G: 10M): {LogRotateSize}");
        if (LogRotateCount < 0)
            throw new StartupException($"LogRotateCount must not be negative: {LogRotateCount}");
        return new LogRotation(size, LogRotateCount);
    }

    public int ParseInstanceLogRetention() => InstanceLogRetention >= 0
        ? InstanceLogRetention
        : throw new StartupException($"InstanceLogRetention must be 0 or more (finished instances whose logs are kept per job): {InstanceLogRetention}");

    public static void Configure(IServiceCollection services, IConfiguration configuration) =>
        services.AddSupdOptions<JobLogOptions, JobLogOptionsValidator>(o => o
            .Bind(configuration)
            .PostConfigure<SupdEnvironment>((logs, environment) =>
                logs.LogDir = Path.GetFullPath(logs.LogDir ?? DefaultPaths.LogDirectory(environment.Uid, environment.Variables))));
}

/// <summary>The job logs' settings, with the message supd starts with when one is not valid.</summary>
public sealed class JobLogOptionsValidator : IValidateOptions<JobLogOptions>
{
    public ValidateOptionsResult Validate(string? name, JobLogOptions options) =>
        SupdOptionsRegistration.Check(() => options.ParseRotation(), () => options.ParseInstanceLogRetention());
}
