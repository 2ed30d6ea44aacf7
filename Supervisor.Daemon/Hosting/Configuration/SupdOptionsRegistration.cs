using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Supervisor.Daemon.Hosting;

/// <summary>How every options class of supd is registered: bound from the root of supd's configuration, checked by
/// its validator when the host starts (or first reads it), registered once however many concerns need it.</summary>
public static class SupdOptionsRegistration
{
    /// <summary>
    /// Registers <typeparamref name="TOptions"/>, checked by <typeparamref name="TValidator"/>, unless already done.
    /// <paramref name="bind"/> calls <c>Bind</c> on the concrete type, so the configuration binder's source generator
    /// binds it (NativeAOT: no reflection).
    /// </summary>
    public static IServiceCollection AddSupdOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this IServiceCollection services, Action<OptionsBuilder<TOptions>> bind)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        if (!IsRegistered<TOptions>(services)) services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddSupdOptions(bind);
    }

    /// <summary>Registers <typeparamref name="TOptions"/> (nothing in it can be refused) unless already done.</summary>
    public static IServiceCollection AddSupdOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(this IServiceCollection services, Action<OptionsBuilder<TOptions>> bind)
        where TOptions : class
    {
        if (IsRegistered<TOptions>(services)) return services;
        services.TryAddSingleton(SupdEnvironment.Current);
        bind(services.AddOptions<TOptions>().ValidateOnStart());
        return services;
    }

    // Bind registers a change token source: the mark that TOptions is bound already.
    private static bool IsRegistered<TOptions>(IServiceCollection services) =>
        services.Any(d => d.ServiceType == typeof(IOptionsChangeTokenSource<TOptions>));

    /// <summary>Runs each check (a parse that throws <see cref="StartupException"/>); the failures, in order.</summary>
    public static ValidateOptionsResult Check(params Action[] checks)
    {
        List<string>? failures = null;
        foreach (var check in checks)
        {
            try
            {
                check();
            }
            catch (StartupException e)
            {
                (failures ??= []).Add(e.Message);
            }
        }
        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
