using Microsoft.Extensions.Options;
using Supervisor.Core.Access;

namespace Supervisor.Daemon.Hosting;

/// <summary><c>Access</c> in supd.json (<c>SUPD_ACCESS__RULES__0__GROUP</c>, …): a rule that names an unknown user or group, or no right, stops supd.</summary>
public sealed class AccessOptionsValidator(SupdEnvironment environment) : IValidateOptions<AccessOptions>
{
    public ValidateOptionsResult Validate(string? name, AccessOptions options) =>
        SupdOptionsRegistration.Check(() => AccessPolicyServiceCollectionExtensions.CreatePolicy(options, environment.Uid));
}

public static class AccessPolicyServiceCollectionExtensions
{
    /// <summary>
    /// Who may do what beyond root and supd's own user (docs/access-control.md): the <see cref="AccessPolicy"/> the
    /// access interceptor decides every call with, from the <c>Access</c> section. Its size is logged once supd listens.
    /// </summary>
    public static IServiceCollection AddAccessPolicy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<AccessOptions, AccessOptionsValidator>(o => o.Bind(configuration.GetSection("Access")));
        services.AddSingleton(sp => CreatePolicy(sp.GetRequiredService<IOptions<AccessOptions>>().Value, sp.GetRequiredService<SupdEnvironment>().Uid));
        services.AddHostedService<AccessPolicyAnnouncement>();
        return services;
    }

    public static AccessPolicy CreatePolicy(AccessOptions access, uint uid)
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
}

/// <summary>Says at start how many rules supd has, once it listens.</summary>
public sealed partial class AccessPolicyAnnouncement(AccessPolicy policy, SupdEnvironment environment, ILogger<AccessPolicyAnnouncement> log) : HostLifecycleStep
{
    public override Task StartedAsync(CancellationToken cancellationToken)
    {
        LogRules(policy.Rules.Count, environment.Uid);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "access: {Count} rule(s); root and uid {Uid} may do everything")]
    private partial void LogRules(int count, uint uid);
}
