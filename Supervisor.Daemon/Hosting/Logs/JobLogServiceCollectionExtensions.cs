using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Supervisor.Core.Configuration;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;

namespace Supervisor.Daemon.Hosting;

public static class JobLogServiceCollectionExtensions
{
    /// <summary>
    /// The job logs: <see cref="JobLogOptions"/> and the <see cref="JobLogDirectory"/> the loop writes through (each line also to supd's stdout with
    /// <c>LogToStdout</c>, and to journald with <c>LogToJournal</c>: <see cref="JournalTarget"/>). The log
    /// directory is checked when the host starts (first of all supd's directories), before any file is opened in it.
    /// </summary>
    public static IServiceCollection AddJobLogs(this IServiceCollection services, IConfiguration configuration)
    {
        JobLogOptions.Configure(services, configuration);
        services.TryAddSingleton(TimeProvider.System);
        JournalTarget.Register(services);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<JobLogOptions>>().Value;
            return new JobLogDirectory(options.LogDir!, sp.GetRequiredService<ILoggerFactory>(), new LogSettings
            {
                Rotation = options.ParseRotation(),
                Timestamps = options.LogTimestamps,
                InstanceLogRetention = options.ParseInstanceLogRetention(),
                Mirror = options.LogToStdout ? new LogMirror(Console.OpenStandardOutput(), sp.GetRequiredService<ILogger<LogMirror>>()) : null,
                Journal = sp.GetRequiredService<JournalTarget>().Sink,
            }, sp.GetRequiredService<TimeProvider>());
        });
        services.AddHostedService<LogDirectoryCheck>();
        return services;
    }
}

/// <summary>Refuses a log directory others could plant files in, before anything is written there.</summary>
public sealed class LogDirectoryCheck(IOptions<JobLogOptions> options) : HostLifecycleStep
{
    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        DirectoryCreator.EnsureTrusted(options.Value.LogDir!, "log directory", "--log-dir");
        return Task.CompletedTask;
    }
}
