namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The control calls being answered now, not counting the followers (<c>events -f</c>, <c>log -f</c>), which a
/// re-exec cuts and their clients reconnect. A re-exec waits for the others to finish before the exec, so a
/// request that got in is answered, and one that did not waits in the socket's backlog for the next image.
/// </summary>
public sealed class ActiveControlCalls
{
    private int _active;

    public int Active => Volatile.Read(ref _active);

    public void Enter() => Interlocked.Increment(ref _active);

    public void Exit() => Interlocked.Decrement(ref _active);

    /// <summary>True once at most <paramref name="allowed"/> calls are active; false past <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitAsync(int allowed, TimeSpan timeout)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (Active > allowed)
        {
            if (TimeProvider.System.GetElapsedTime(start) > timeout) return false;
            await Task.Delay(5).ConfigureAwait(false);
        }
        return true;
    }

    public static bool IsFollower(PathString path) =>
        path.Value is { } value && (value.EndsWith("/WatchEvents", StringComparison.Ordinal) || value.EndsWith("/TailLog", StringComparison.Ordinal));
}

public static class ActiveControlCallsExtensions
{
    /// <summary>Counts the control calls (<see cref="ActiveControlCalls"/>); after the HTTP listener's branch, so only the socket's.</summary>
    public static WebApplication UseControlCallCount(this WebApplication app)
    {
        var calls = app.Services.GetRequiredService<ActiveControlCalls>();
        app.Use(async (context, next) =>
        {
            if (ActiveControlCalls.IsFollower(context.Request.Path))
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            calls.Enter();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                calls.Exit();
            }
        });
        return app;
    }
}
