using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Supervisor.Core.Configuration;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Daemon.Hosting;

/// <summary><c>Containment</c> (<c>SUPD_CONTAINMENT</c>, supd.json): <c>auto</c> (a cgroup per job instance where supd can manage one) or <c>process-groups</c>.</summary>
public sealed class ContainmentOptions
{
    public const string Auto = "auto", ProcessGroups = "process-groups";

    public string Containment { get; set; } = Auto;
}

public sealed class ContainmentOptionsValidator : IValidateOptions<ContainmentOptions>
{
    public ValidateOptionsResult Validate(string? name, ContainmentOptions options) =>
        options.Containment is ContainmentOptions.Auto or ContainmentOptions.ProcessGroups
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Containment must be {ContainmentOptions.Auto} or {ContainmentOptions.ProcessGroups}, not \"{options.Containment}\"");
}

public static class ContainmentServiceCollectionExtensions
{
    /// <summary>
    /// How job processes are kept together (Core/Processes/Containment): detected once when resolved (read-only),
    /// the cgroup tree opened by <see cref="ContainmentLifecycle"/> once the socket lock is held (it empties what a
    /// previous supd of the same socket left), and every job's cgroup ended when supd stops, after the jobs.
    /// Register before <c>AddSupervisorCore</c>: hosted services stop in reverse order. Needs <c>AddControlSocket</c>.
    /// </summary>
    public static IServiceCollection AddContainment(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<ContainmentOptions, ContainmentOptionsValidator>(o => o.Bind(configuration));
        services.AddSingleton<IJobContainment>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ContainmentOptions>>().Value;
            var socket = sp.GetRequiredService<IOptions<ControlSocketOptions>>().Value.Socket!;
            var time = sp.GetRequiredService<TimeProvider>();
            var log = sp.GetRequiredService<ILogger<IJobContainment>>();
            var mode = options.Containment == ContainmentOptions.ProcessGroups
                ? ContainmentMode.ProcessGroups("Containment is process-groups")
                : CgroupDetection.Detect(CgroupProbe.FromSystem(), GroupName(socket, sp.GetRequiredService<SupdEnvironment>()));
            return mode.UsesCgroups ? new CgroupContainment(mode, time, log) : new TagContainment(mode, time, log);
        });
        services.AddSingleton<ContainmentLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<ContainmentLifecycle>());
        return services;
    }

    /// <summary>
    /// The jobs' directory under the hierarchy's root: <c>supd</c> for the default socket, else <c>supd-HASH</c> of the
    /// socket's path, so two supds (one per socket, as the socket's lock makes it) never share a tree, and a restarted
    /// supd finds what its predecessor left.
    /// </summary>
    public static string GroupName(string socket, SupdEnvironment environment)
    {
        if (socket == Path.GetFullPath(DefaultPaths.Socket(environment.Uid, environment.Variables))) return "supd";
        return "supd-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(socket)))[..12];
    }
}

/// <summary>
/// Starting (after the socket lock): the mode logged once, the cgroup tree opened (else process groups, with why).
/// Stop (after the supervision stopped every job): whatever is left in any job's cgroup or carries a job's tag is
/// SIGKILLed and the cgroups removed, so no job process outlives supd.
/// </summary>
public sealed partial class ContainmentLifecycle(IJobContainment containment, HandoverStart handover, SurvivalLifecycle survival, SupdExit exit,
    ILogger<ContainmentLifecycle> log) : HostLifecycleStep
{
    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        // After a re-exec the groups of the instances handed over are theirs still, and after a restart those of the
        // instances that ran on: kept, not cleared as leftovers.
        var handed = (handover.State ?? survival.Recovered)?.Instances.Where(i => i.Cgroup.Length > 0)
            .ToDictionary(i => i.Tag, i => i.Cgroup, StringComparer.Ordinal);
        if (containment is CgroupContainment cgroups && !cgroups.Open(out var error, handed)) LogFellBack(error);
        LogMode(containment.Mode.Describe());
        return Task.CompletedTask;
    }

    // Leaving the jobs running (systemctl restart): their cgroups are theirs still.
    public override Task StopAsync(CancellationToken cancellationToken) =>
        exit.LeaveJobs ? Task.CompletedTask : containment.EndAllAsync(TimeSpan.FromSeconds(5));

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Containment: {Mode}")]
    private partial void LogMode(string mode);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Cannot use the cgroup tree ({Error}); containing jobs by process group instead")]
    private partial void LogFellBack(string error);
}
