using Serilog;
using Supervisor.Daemon.Grpc;

namespace Supervisor.Daemon.Hosting;

/// <summary>Composes supd from its concerns and runs it: the configuration sources, then one <c>Add…</c> per concern.</summary>
public static class SupdHost
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> commandLine, string? configFile, HandoverStart handover)
    {
        // First, so a SIGHUP or SIGUSR1 during start-up waits for supd to be ready instead of ending it.
        using var controlSignals = new ControlSignals();
        var builder = CreateBuilder(commandLine, configFile, SupdEnvironment.Current, controlSignals);
        builder.Services.AddSingleton(handover);
        await using var app = builder.Build();
        // The HTTP listener's requests branch off first: the control API is only on the Unix socket.
        app.MapObservability();
        app.UseControlCallCount();
        app.MapGrpcService<SupervisorService>();
        await app.StartAsync().ConfigureAwait(false);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        await Log.CloseAndFlushAsync().ConfigureAwait(false);
        return Environment.ExitCode;
    }

    /// <summary>The host supd runs: its configuration sources, then <see cref="AddSupd"/>.</summary>
    public static WebApplicationBuilder CreateBuilder(IReadOnlyDictionary<string, string?> commandLine, string? configFile,
        SupdEnvironment environment, ControlSignals controlSignals)
    {
        // supd serves no files and reads no appsettings, so the content root only has to be a valid absolute path: not
        // the working directory (any), nor AppContext.BaseDirectory, which a native supd run as a user who cannot
        // reach its own directory gets as "" (and the host then throws before supd can say anything useful).
        // reloadConfigOnChange=false: the host's default appsettings.json source would otherwise put a recursive file
        // watcher on the content root; on "/" that was 45 000 inotify watches, twice the start-up time and +50 MB.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = "/",
        });
        builder.Configuration.Sources.Clear();
        SupdConfiguration.Add(builder.Configuration, commandLine, configFile, environment);
        builder.Services.AddSingleton(environment);
        builder.Services.AddSupd(builder.Configuration, SupdConfiguration.JobDirFlags(commandLine), controlSignals);
        return builder;
    }

    /// <summary>
    /// Every concern of supd, in the order the host starts them (each phase in registration order, Kestrel's last;
    /// stopping in reverse): the log directory and supd.log, the state directory, the control socket's lock, the access
    /// policy, the pipe keeper and the survivors of a previous supd, then the supervision (jobs loaded, loop started) before Kestrel listens; once it listens: the socket's
    /// mode and group, the control signals, the boot events, READY=1. Each options class is validated on start.
    /// </summary>
    public static IServiceCollection AddSupd(this IServiceCollection services, IConfiguration configuration,
        IReadOnlyList<string>? jobDirFlags, ControlSignals controlSignals)
    {
        // supd bounds its own shutdown (SupervisorRuntime.StopAsync).
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(10));
        // A fresh start unless RunAsync registers what a re-exec handed over (registered later, so it wins).
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton(services, HandoverStart.None);
        services.AddSingleton<ReexecCoordinator>();
        return services
            .AddJobLogs(configuration)
            .AddSupdLogging(configuration)
            .AddPersistedGoals(configuration)
            .AddControlSocket(configuration)
            .AddSurvival(configuration)
            .AddAccessPolicy(configuration)
            .AddContainment(configuration)
            .AddSupervisorCore(configuration, jobDirFlags, controlSignals)
            .AddHttpListener(configuration)
            .AddSystemdNotify();
    }
}
