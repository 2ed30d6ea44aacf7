using System.Diagnostics;

namespace Supervisor.Tests.Support;

/// <summary>Waits for a condition with a generous bound, never a fixed sleep.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static async Task<T> GetAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        T last;
        while (true)
        {
            last = await probe();
            if (done(last)) return last;
            if (clock.Elapsed > limit) break;
            await Task.Delay(25);
        }
        throw new TimeoutException($"Timed out after {limit.TotalSeconds}s waiting for {what}; last value: {last}");
    }

    public static Task<bool> TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        GetAsync(() => Task.FromResult(condition()), ok => ok, what, timeout);
}
