using Microsoft.Extensions.Options;
using Supervisor.Core.State;

namespace Supervisor.Daemon.Hosting;

public static class PersistedGoalsServiceCollectionExtensions
{
    /// <summary>
    /// goals.json in the state directory (<see cref="StateOptions"/>): what the operator started and stopped by hand,
    /// kept across restarts of supd. <see cref="PersistedGoals"/> checks the directory and opens the store when the host
    /// starts, and writes what is pending when it stops.
    /// </summary>
    public static IServiceCollection AddPersistedGoals(this IServiceCollection services, IConfiguration configuration)
    {
        StateOptions.Configure(services, configuration);
        services.AddSingleton<PersistedGoals>();
        services.AddHostedService(sp => sp.GetRequiredService<PersistedGoals>());
        return services;
    }
}

/// <summary>
/// Owns the <see cref="GoalStore"/>. The state directory is checked first (not writable by group or others, or it is
/// refused: goals.json holds job variables), so the store is created when the host starts, not when it is resolved.
/// </summary>
public sealed class PersistedGoals(IOptions<StateOptions> options, ILogger<GoalStore> log) : HostLifecycleStep, IAsyncDisposable
{
    private GoalStore? _store;

    /// <summary>The store; there from the host's start on.</summary>
    public GoalStore Store => _store ?? throw new InvalidOperationException("The goal store is opened when the host starts");

    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        var stateDir = options.Value.StateDir!;
        DirectoryCreator.EnsureTrusted(stateDir, "state directory", "--state-dir");
        _store = new GoalStore(stateDir, log);
        return Task.CompletedTask;
    }

    /// <summary>Runs after the supervision loop stopped (hosted services stop in reverse order): the last goals are written.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_store is { } store)
        {
            _store = null;
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }
}
