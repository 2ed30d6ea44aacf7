namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The control calls being answered now, not counting the followers (<c>events -f</c>, <c>log -f</c>: see
/// <see cref="Following"/>), which a re-exec cuts and their clients reconnect; and the connections accepted that have
/// not sent their first call yet. A re-exec waits for both to come to nothing before the exec, so a request that got
/// in is answered, and one that did not waits in the socket's backlog for the next image.
/// </summary>
public sealed class ActiveControlCalls
{
    private const string FreshKey = "supd.fresh";
    private int _active;
    private int _fresh;

    public int Active => Volatile.Read(ref _active);

    /// <summary>Connections accepted whose first call has not come in yet (a client connects, then sends at once).</summary>
    public int Fresh => Volatile.Read(ref _fresh);

    /// <summary>At accept: the connection counts as fresh until its first call, or until it closes without one.</summary>
    public void Accepted(Microsoft.AspNetCore.Connections.ConnectionContext connection)
    {
        var mark = new FreshMark(this);
        Interlocked.Increment(ref _fresh);
        connection.Items[FreshKey] = mark;
        connection.ConnectionClosed.Register(mark.Settle);
    }

    /// <summary>A call came in on the connection: it is fresh no more.</summary>
    public static void CallOn(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items is { } items
            && items.TryGetValue(FreshKey, out var mark))
            (mark as FreshMark)?.Settle();
    }

    private sealed class FreshMark(ActiveControlCalls calls)
    {
        private int _settled;

        public void Settle()
        {
            if (Interlocked.Exchange(ref _settled, 1) == 0) Interlocked.Decrement(ref calls._fresh);
        }
    }

    public void Enter() => Interlocked.Increment(ref _active);

    public void Exit() => Interlocked.Decrement(ref _active);

    /// <summary>A call that follows (<c>events -f</c>, <c>log -f</c>) counts no more while it follows: a re-exec cuts it, and its client reconnects.</summary>
    public IDisposable Following()
    {
        Exit();
        return new Followed(this);
    }

    private sealed class Followed(ActiveControlCalls calls) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) calls.Enter();
        }
    }

    /// <summary>
    /// True once at most <paramref name="allowed"/> calls are active and no accepted connection waits for its first;
    /// false past <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitAsync(int allowed, TimeSpan timeout)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (Active > allowed || Fresh > 0)
        {
            if (TimeProvider.System.GetElapsedTime(start) > timeout) return false;
            await Task.Delay(5).ConfigureAwait(false);
        }
        return true;
    }
}

public static class ActiveControlCallsExtensions
{
    /// <summary>Counts the control calls (<see cref="ActiveControlCalls"/>); after the HTTP listener's branch, so only the socket's.</summary>
    public static WebApplication UseControlCallCount(this WebApplication app)
    {
        var calls = app.Services.GetRequiredService<ActiveControlCalls>();
        app.Use(async (context, next) =>
        {
            // Counted as a call before it stops counting as a fresh connection, so a re-exec never sees neither.
            calls.Enter();
            ActiveControlCalls.CallOn(context);
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
