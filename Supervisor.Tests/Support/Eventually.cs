using System.Diagnostics;

namespace Supervisor.Tests.Support;

/// <summary>Waits for a condition with a generous bound, never a fixed sleep.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(250);

    public static Task<T> GetAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null) =>
        PollAsync(probe, done, what, timeout, LongestPause);

    /// <summary>For a cheap in-process condition (a file, /proc): polled every 25 ms throughout.</summary>
    public static Task<bool> TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        PollAsync(() => Task.FromResult(condition()), ok => ok, what, timeout, FirstPause);

    private static async Task<T> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout, TimeSpan longestPause)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        T last;
        // Quick at first (most conditions hold within milliseconds), then less often: most GetAsync probes run a
        // supctl process, and back-to-back ones would keep a 2-core machine busy with JIT start-ups for the whole wait.
        var pause = FirstPause;
        while (true)
        {
            last = await probe();
            if (done(last)) return last;
            if (clock.Elapsed > limit) break;
            await Task.Delay(pause);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 3 / 2, longestPause.Ticks));
        }
        throw new TimeoutException($"Timed out after {limit.TotalSeconds}s waiting for {what}; last value: {last}");
    }
}
