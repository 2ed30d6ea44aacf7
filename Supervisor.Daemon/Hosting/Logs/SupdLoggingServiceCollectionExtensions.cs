using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

public static class SupdLoggingServiceCollectionExtensions
{
    /// <summary>
    /// supd's own log through Serilog: one line per event on stderr (<c>supd: …</c>) and in LOGDIR/supd.log
    /// (<see cref="SupdLogFileSink"/>, opened when the host starts, after the log directory was checked, and reopened
    /// with the job logs), and to journald with <c>LogToJournal</c> (<see cref="SupdJournalSink"/>), every string property escaped (<see cref="ControlCharacterEscaper"/>). The level is read
    /// when the logger is built, with the host: a bad LogLevel stops supd before anything starts.
    /// </summary>
    public static IServiceCollection AddSupdLogging(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<SupdLogOptions, SupdLogOptionsValidator>(o => o.Bind(configuration));
        JobLogOptions.Configure(services, configuration);
        JournalTarget.Register(services);
        services.AddSingleton(sp => new SupdLogFileSink(Path.Combine(sp.GetRequiredService<IOptions<JobLogOptions>>().Value.LogDir!, "supd.log")));
        services.AddLogging(logging => logging.ClearProviders());
        // Microsoft.Extensions.Logging filters at Information by default before Serilog sees anything: open it as far.
        services.AddOptions<LoggerFilterOptions>().Configure<IOptions<SupdLogOptions>>((filter, options) =>
            filter.MinLevel = (LogLevel)(int)SupdLogOptions.ParseLogLevel(options.Value.LogLevel));
        services.AddSerilog((sp, logger) =>
        {
            var level = SupdLogOptions.ParseLogLevel(sp.GetRequiredService<IOptions<SupdLogOptions>>().Value.LogLevel);
            // ASP.NET Core's and gRPC's own lines stay at Warning: supd's Debug is about jobs, not HTTP/2 frames.
            var frameworkLevel = level > LogEventLevel.Warning ? level : LogEventLevel.Warning;
            logger
                .MinimumLevel.Is(level)
                .MinimumLevel.Override("Microsoft", frameworkLevel)
                .MinimumLevel.Override("Grpc", frameworkLevel)
                // A start refused for a reason the user caused is said once, as one line, by Program.
                .Filter.ByExcluding(e => e.Exception is { } failure && StartupException.Describe(failure) is not null)
                .Enrich.FromLogContext()
                .Enrich.With<ControlCharacterEscaper>()
                .WriteTo.Console(
                    outputTemplate: "supd: {Message:lj}{NewLine}{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose)
                .WriteTo.Sink(sp.GetRequiredService<SupdLogFileSink>())
                .WriteTo.Sink(new SupdJournalSink(sp.GetRequiredService<JournalTarget>));
        });
        services.AddHostedService<SupdLogFileOpening>();
        return services;
    }
}

/// <summary>Opens supd.log once the log directory was checked (<see cref="LogDirectoryCheck"/> runs before).</summary>
public sealed class SupdLogFileOpening(SupdLogFileSink sink, JobLogDirectory logs) : HostLifecycleStep
{
    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        sink.Open();
        logs.AlsoReopen(sink.File);
        return Task.CompletedTask;
    }
}
