using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;
using Supervisor.Core.Access;
using Supervisor.Core;
using Supervisor.Core.Events;
using Supervisor.Core.Configuration;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Memory;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.Systemd;
using Supervisor.Daemon.Access;
using Supervisor.Daemon.Grpc;

namespace Supervisor.Daemon.Hosting;

/// <summary>Builds and runs supd: configuration, directories, the socket guard, logging, Core services, Kestrel.</summary>
public static class SupdHost
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> commandLine, string? configFile)
    {
        // First, so a SIGHUP or SIGUSR1 during start-up waits for supd to be ready instead of ending it.
        using var controlSignals = new ControlSignals();
        Func<string, string?> environment = Environment.GetEnvironmentVariable;
        var uid = DefaultPaths.CurrentUid;

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
        AddConfiguration(builder.Configuration, commandLine, configFile, uid, environment);
        var options = BindOptions(builder.Configuration, commandLine);
        var paths = ResolvePaths(options, uid, environment);

        DirectoryCreator.EnsureTrusted(paths.LogDir, "log directory", "--log-dir");
        DirectoryCreator.EnsureTrusted(paths.StateDir, "state directory", "--state-dir");
        // The default job dir is created; a dir the user named is not (a typo must not become an empty dir).
        if (options.JobDirs.Count == 0) DirectoryCreator.Ensure(paths.JobDirs[0], "job directory");
        var missingJobDirs = paths.JobDirs.Where(d => !Directory.Exists(d)).ToArray();
        var socketMode = ParseSocketMode(options.SocketMode);
        var socketGroup = ResolveSocketGroup(options.SocketGroup);
        var policy = CreatePolicy(options.Access, uid);
        var rotation = ParseLogRotation(options);
        var instanceLogRetention = options.InstanceLogRetention >= 0
            ? options.InstanceLogRetention
            : throw new StartupException($"InstanceLogRetention must be 0 or more (finished instances whose logs are kept per job): {options.InstanceLogRetention}");
        var logLevel = ParseLogLevel(options.LogLevel);
        using var socketGuard = ControlSocketGuard.Acquire(paths.Socket);

        using var supdLog = new SupdLogFileSink(Path.Combine(paths.LogDir, "supd.log"));
        ConfigureLogging(builder, supdLog, logLevel);
        var tools = JobTools.Install(paths.StateDir, options.Supctl, out var toolsProblem);
        var supervisorOptions = new SupervisorOptions
        {
            JobEnvironment = [new(EventIds.ProcessVariables.SupdSocket, paths.Socket)],
            RespawnDelay = ParseRespawnDelay(options.RespawnDelay),
            CheckTimeout = ParseCheckTimeout(options.CheckTimeoutSeconds),
        };
        if (tools is not null) supervisorOptions.DefaultPath = tools + ":" + supervisorOptions.DefaultPath;

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(10)); // supd bounds its own shutdown
        builder.Services.AddSingleton(paths);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(supervisorOptions);
        builder.Services.AddSingleton<IProcessControl, NativeProcessControl>();
        builder.Services.AddSingleton(sp => new JobLogDirectory(paths.LogDir, sp.GetRequiredService<ILoggerFactory>(), new LogSettings
        {
            Rotation = rotation,
            Timestamps = options.LogTimestamps,
            InstanceLogRetention = instanceLogRetention,
            Mirror = options.LogToStdout ? new LogMirror(Console.OpenStandardOutput(), sp.GetRequiredService<ILogger<LogMirror>>()) : null,
        }, sp.GetRequiredService<TimeProvider>()).AlsoReopen(supdLog.File));
        builder.Services.AddSingleton<SupervisorLoop>();
        builder.Services.AddSingleton(sp => new EventMonitor(sp.GetRequiredService<SupervisorLoop>(), Math.Max(1, options.EventHistory), Math.Max(2, options.EventQueueSize)));
        builder.Services.AddSingleton<SupervisorRuntime>();
        builder.Services.AddSingleton(sp => new SystemdNotifier(
            Environment.GetEnvironmentVariable(SystemdNotifier.SocketVariable), sp.GetRequiredService<ILogger<SystemdNotifier>>()));
        builder.Services.AddSingleton<SystemdStatusReporter>();
        builder.Services.AddSingleton<BurstMemoryTrimmer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SupervisorRuntime>());
        builder.Services.AddSingleton(policy);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<AccessInterceptor>();
            // A larger message is refused (RESOURCE_EXHAUSTED) before it is parsed; what fits is then checked
            // variable by variable (Access/RequestLimits) before the loop sees it.
            grpc.MaxReceiveMessageSize = Supervisor.Core.Limits.MaxRequestBytes;
        });

        // The control socket's transport: supd's accept loop (connection limits, the fd reserve, EMFILE without spinning).
        builder.Services.AddSingleton<ConnectionGuard>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory, GuardedSocketTransport>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Bounds on what one client can make supd hold (docs/security.md, Limits).
            kestrel.Limits.KeepAliveTimeout = Limits.IdleConnectionTimeout;
            kestrel.Limits.Http2.MaxStreamsPerConnection = Limits.MaxStreamsPerConnection;
            kestrel.Limits.MaxRequestHeadersTotalSize = Limits.MaxRequestHeaderBytes;
            kestrel.Limits.MaxRequestHeaderCount = Limits.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestBodySize = Limits.MaxRequestBodyBytes;
            kestrel.ListenUnixSocket(paths.Socket, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                PeerCredentials.Capture(listen);
            });
        });

        await using var app = builder.Build();
        app.MapGrpcService<SupervisorService>();

        var runtime = app.Services.GetRequiredService<SupervisorRuntime>();
        // Subscribed before the first event, so history starts at startup. Its followers' streams end when supd begins
        // to stop: Kestrel stops first and would otherwise wait for them before any job is stopped.
        var monitor = app.Services.GetRequiredService<EventMonitor>();
        app.Lifetime.ApplicationStopping.Register(monitor.Dispose);
        app.Lifetime.ApplicationStopping.Register(app.Services.GetRequiredService<ConnectionGuard>().LogTotal);
        // After a burst of supervision work, memory goes back to the OS once supd is quiet (Core/Memory).
        var trimmer = app.Services.GetRequiredService<BurstMemoryTrimmer>();
        app.Services.GetRequiredService<SupervisorLoop>().Notified += _ => trimmer.OnActivity();
        await runtime.StartSupervisionAsync().ConfigureAwait(false);
        await app.StartAsync().ConfigureAwait(false);
        SecureSocket(paths.Socket, socketMode, socketGroup);
        if (toolsProblem is not null) app.Logger.LogWarning("{Problem}", toolsProblem);
        foreach (var dir in missingJobDirs) app.Logger.LogWarning("Job directory {Dir} does not exist; no jobs loaded from it", dir);
        app.Logger.LogInformation("Listening on {Socket}", paths.Socket);
        app.Logger.LogInformation("access: {Count} rule(s); root and uid {Uid} may do everything", policy.Rules.Count, uid);
        // SIGUSR1: reopen every job log, for an external logrotate. SIGHUP: re-read the job dirs, as supctl
        // reload-configuration does. Either one that came during start-up acts now.
        var logs = app.Services.GetRequiredService<JobLogDirectory>();
        controlSignals.Ready(
            reload: () => _ = runtime.ReloadConfigurationAsync("SIGHUP").ContinueWith(
                t => app.Logger.LogError(t.Exception!.GetBaseException(), "Reloading the job files failed"),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default),
            reopen: () => app.Logger.LogInformation("Reopened {Files} job log files (SIGUSR1)", logs.ReopenAll()));
        await runtime.EmitBootEventsAsync().ConfigureAwait(false);
        await runtime.AnnounceReadyAsync().ConfigureAwait(false);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        await Log.CloseAndFlushAsync().ConfigureAwait(false);
        return Environment.ExitCode;
    }

    /// <summary>
    /// supd's configuration sources, lowest to highest: supd.json (<paramref name="configFile"/>, else the default one if
    /// present), SUPD_* environment variables, the flags. A --config that does not exist is a <see cref="StartupException"/>.
    /// </summary>
    public static void AddConfiguration(IConfigurationBuilder configuration, IReadOnlyDictionary<string, string?> commandLine,
        string? configFile, uint uid, Func<string, string?> environment)
    {
        var explicitConfig = configFile is not null;
        configFile ??= DefaultPaths.ConfigFile(uid, environment);
        if (explicitConfig && !File.Exists(configFile)) throw new StartupException($"configuration file not found: {configFile}");
        configuration
            .AddJsonFile(configFile, optional: true, reloadOnChange: false)
            .AddEnvironmentVariables("SUPD_")
            .AddInMemoryCollection(commandLine);
    }

    /// <summary>Binds <see cref="SupdOptions"/>; --job-dir flags replace the job dirs of lower sources instead of merging by index.</summary>
    public static SupdOptions BindOptions(IConfiguration configuration, IReadOnlyDictionary<string, string?> commandLine)
    {
        var options = configuration.Get<SupdOptions>() ?? new SupdOptions();
        if (commandLine.Keys.Any(k => k.StartsWith("JobDirs:", StringComparison.OrdinalIgnoreCase)))
            options.JobDirs = commandLine.Where(k => k.Key.StartsWith("JobDirs:", StringComparison.OrdinalIgnoreCase)).Select(k => k.Value!).ToList();
        return options;
    }

    /// <summary>SocketMode as octal ("0660"); anything else is a <see cref="StartupException"/>.</summary>
    public static UnixFileMode ParseSocketMode(string text)
    {
        try
        {
            var mode = Convert.ToInt32(text.Trim(), 8);
            if (mode is >= 0 and <= 0x1FF) return (UnixFileMode)mode;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
        }
        throw new StartupException($"SocketMode is not an octal permission mode (like 0660): {text}");
    }

    /// <summary>The daemon-wide log rotation (LogRotateSize, LogRotateCount); a bad value is a <see cref="StartupException"/>.</summary>
    public static Supervisor.Core.Language.LogRotation ParseLogRotation(SupdOptions options)
    {
        if (!Supervisor.Core.Language.JobParser.TryParseSize(options.LogRotateSize.Trim(), out var size))
            throw new StartupException($"LogRotateSize is not a size (bytes, or a number with K, M or G: 10M): {options.LogRotateSize}");
        if (options.LogRotateCount < 0)
            throw new StartupException($"LogRotateCount must not be negative: {options.LogRotateCount}");
        return new Supervisor.Core.Language.LogRotation(size, options.LogRotateCount);
    }

    /// <summary>RespawnDelay as "MIN [MAX]" seconds; empty is none (Upstart's immediate respawn).</summary>
    public static RespawnDelay? ParseRespawnDelay(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        return RespawnDelay.TryParse(text, out var delay)
            ? delay
            : throw new StartupException($"RespawnDelay is not \"MIN [MAX]\" in seconds with 0 < MIN <= MAX (like \"1 60\"): {text}");
    }

    private static TimeSpan ParseCheckTimeout(double seconds) =>
        double.IsFinite(seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new StartupException($"CheckTimeoutSeconds must be a number of seconds above 0: {seconds}");

    private static uint? ResolveSocketGroup(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        return SystemAccounts.Instance.GroupId(name.Trim()) ?? throw new StartupException($"SocketGroup: unknown group: {name}");
    }

    private static AccessPolicy CreatePolicy(AccessOptions access, uint uid)
    {
        try
        {
            return AccessPolicy.Create(access, uid, SystemAccounts.Instance);
        }
        catch (AccessConfigurationException e)
        {
            throw new StartupException(e.Message);
        }
    }

    // The socket is created inside a directory that is not writable by others (ControlSocketGuard); its own mode and
    // group are then set as configured. Who may do what is decided per request from the peer's credentials.
    private static void SecureSocket(string socket, UnixFileMode mode, uint? group)
    {
        if (group is { } gid && SystemAccounts.ChangeGroup(socket, gid) is { } error)
            throw new StartupException($"cannot set the group of {socket}: {error}");
        File.SetUnixFileMode(socket, mode);
    }

    public static SupdPaths ResolvePaths(SupdOptions options, uint uid, Func<string, string?> environment)
    {
        var jobDirs = options.JobDirs.Count > 0 ? options.JobDirs : [DefaultPaths.JobDirectory(uid, environment)];
        return new SupdPaths(
            jobDirs.Select(Path.GetFullPath).ToArray(),
            Path.GetFullPath(options.Socket ?? DefaultPaths.Socket(uid, environment)),
            Path.GetFullPath(options.LogDir ?? DefaultPaths.LogDirectory(uid, environment)),
            Path.GetFullPath(options.StateDir ?? DefaultPaths.StateDirectory(uid, environment)));
    }

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

    private static void ConfigureLogging(WebApplicationBuilder builder, SupdLogFileSink supdLog, LogEventLevel level)
    {
        builder.Logging.ClearProviders();
        // Microsoft.Extensions.Logging filters at Information by default before Serilog sees anything: open it as far.
        builder.Logging.SetMinimumLevel((LogLevel)(int)level);
        // ASP.NET Core's and gRPC's own lines stay at Warning: supd's Debug is about jobs, not HTTP/2 frames.
        var frameworkLevel = level > LogEventLevel.Warning ? level : LogEventLevel.Warning;
        builder.Services.AddSerilog(logger => logger
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", frameworkLevel)
            .MinimumLevel.Override("Grpc", frameworkLevel)
            .Enrich.FromLogContext()
            .Enrich.With<ControlCharacterEscaper>()
            .WriteTo.Console(
                outputTemplate: "supd: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose)
            .WriteTo.Sink(supdLog));
    }
}
