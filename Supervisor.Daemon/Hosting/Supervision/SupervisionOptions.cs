using Supervisor.Core;
using Microsoft.Extensions.Options;
using Supervisor.Core.Configuration;
using Supervisor.Core.Language;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The supervision settings (<see cref="SupervisionServiceCollectionExtensions.AddSupervisorCore"/>): supd.json keys
/// <c>JobDirs</c>, <c>BootEvents</c>, <c>ShutdownEvent</c>, …, <c>SUPD_JOBDIRS__0</c>, …, and <c>--job-dir DIR</c>
/// (repeatable; the flags replace the job dirs of lower sources).
/// </summary>
public sealed class SupervisionOptions
{
    /// <summary>The job directories, absolute once configured; none given: the default one (which is created).</summary>
    public List<string> JobDirs { get; set; } = [];

    /// <summary>True when no job dir was configured and <see cref="JobDirs"/> is the default (a dir the user named is
    /// not created: a typo must not become an empty dir).</summary>
    public bool UsesDefaultJobDir { get; private set; }

    /// <summary>
    /// Events emitted after <c>startup</c>, separated by ';', each "NAME [KEY=VALUE…]", so jobs written for Ubuntu
    /// (<c>start on filesystem</c>, <c>start on runlevel [2345]</c>) start unmodified. Empty: none.
    /// </summary>
    public string BootEvents { get; set; } = Defaults.Daemon.BootEvents;

    /// <summary>Emitted on SIGTERM/SIGINT before every job is stopped, so <c>stop on</c> and shutdown tasks run. Empty: none.</summary>
    public string ShutdownEvent { get; set; } = Defaults.Daemon.ShutdownEvent;

    /// <summary>The supctl binary that job processes reach as initctl/start/stop/…; found beside supd when not set.</summary>
    public string? Supctl { get; set; }

    /// <summary>Extra time on top of the longest kill timeout that a shutdown may take before everything is SIGKILLed.</summary>
    public double ShutdownGraceSeconds { get; set; } = Defaults.Daemon.ShutdownGraceSeconds;

    /// <summary>
    /// <c>respawn delay</c> for jobs without one, as in a job file: "MIN [MAX]" in seconds ("1 60"). Empty: Upstart's
    /// immediate respawn.
    /// </summary>
    public string? RespawnDelay { get; set; }

    /// <summary>How long a restart's or reload's <c>check</c> may run before it is killed and counts as failed.</summary>
    public double CheckTimeoutSeconds { get; set; } = Defaults.Supervision.CheckTimeout.TotalSeconds;

    /// <summary>How many recent events and state changes supd keeps for <c>supctl events</c> (without -f).</summary>
    public int EventHistory { get; set; } = Defaults.Daemon.EventHistory;

    /// <summary>How many items a <c>supctl events -f</c> watcher may fall behind before items are dropped (and reported).</summary>
    public int EventQueueSize { get; set; } = Defaults.Daemon.EventQueueSize;

    /// <summary>RespawnDelay as "MIN [MAX]" seconds; empty is none (Upstart's immediate respawn).</summary>
    public RespawnDelay? ParseRespawnDelay()
    {
        if (string.IsNullOrWhiteSpace(RespawnDelay)) return null;
        return Core.Language.RespawnDelay.TryParse(RespawnDelay, out var delay)
            ? delay
            : throw new StartupException($"RespawnDelay is not \"MIN [MAX]\" in seconds with 0 < MIN <= MAX (like \"1 60\"): {RespawnDelay}");
    }

    public TimeSpan ParseCheckTimeout() =>
        double.IsFinite(CheckTimeoutSeconds) && CheckTimeoutSeconds > 0
            ? TimeSpan.FromSeconds(CheckTimeoutSeconds)
            : throw new StartupException($"CheckTimeoutSeconds must be a number of seconds above 0: {CheckTimeoutSeconds}");

    /// <summary>
    /// Applies the --job-dir flags (<paramref name="flags"/>, null when none) over what was bound, else the default
    /// job dir when none was configured, and makes every dir absolute. <c>supd --check</c> resolves them the same way.
    /// </summary>
    public void ResolveJobDirs(IReadOnlyList<string>? flags, SupdEnvironment environment)
    {
        if (flags is not null) JobDirs = [.. flags];
        UsesDefaultJobDir = JobDirs.Count == 0;
        if (UsesDefaultJobDir) JobDirs = [DefaultPaths.JobDirectory(environment.Uid, environment.Variables)];
        JobDirs = JobDirs.Select(Path.GetFullPath).ToList();
    }
}

/// <summary>The supervision settings' values, with the message supd starts with when one is not valid.</summary>
public sealed class SupervisionOptionsValidator : IValidateOptions<SupervisionOptions>
{
    public ValidateOptionsResult Validate(string? name, SupervisionOptions options) =>
        SupdOptionsRegistration.Check(() => options.ParseRespawnDelay(), () => options.ParseCheckTimeout());
}

/// <summary>
/// supd's state directory (<c>StateDir</c>, <c>SUPD_STATEDIR</c>, <c>--state-dir</c>): goals.json and the job tools'
/// <c>bin/</c>. Made absolute; not set: the default for supd's user.
/// </summary>
public sealed class StateOptions
{
    public string? StateDir { get; set; }

    public static void Configure(IServiceCollection services, IConfiguration configuration) =>
        services.AddSupdOptions<StateOptions>(o => o
            .Bind(configuration)
            .PostConfigure<SupdEnvironment>((state, environment) =>
                state.StateDir = Path.GetFullPath(state.StateDir ?? DefaultPaths.StateDirectory(environment.Uid, environment.Variables))));
}
