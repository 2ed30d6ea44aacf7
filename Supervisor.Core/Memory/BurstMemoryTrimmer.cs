using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Memory;

/// <summary>
/// Gives memory back to the OS once a burst of work is over. A burst (1000 jobs starting, a crash storm, a reload)
/// grows the GC's gen0 budget, and the pages it touched stay committed and resident while supd then idles for days:
/// with 1000 jobs started that was 25 MB of supd's 48 MB of anonymous memory (docs/BENCHMARKS.md, S4). When supd has
/// been quiet for <see cref="QuietPeriod"/> after allocating at least <see cref="Threshold"/> since the last trim, one
/// aggressive collection compacts the heap and decommits what is free.
///
/// Activity (any supervision notification) only arms a one-shot timer, so an idle supd has no timer and no wake-up,
/// and a steady stream of work postpones the trim instead of paying for it again and again.
/// </summary>
public sealed partial class BurstMemoryTrimmer(TimeProvider time, ILogger<BurstMemoryTrimmer> log) : IDisposable
{
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private bool _armed;
    private long _lastActivity;
    private long _allocatedAtLastTrim;
    private bool _disposed;

    /// <summary>How long supd must have been quiet before a trim.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes allocated since the last trim below which a quiet spell is not worth a collection.</summary>
    public long Threshold { get; init; } = 16 * 1024 * 1024;

    /// <summary>Bytes allocated by the process so far (the GC's count; replaceable for tests).</summary>
    public Func<long> AllocatedBytes { get; init; } = () => GC.GetTotalAllocatedBytes();

    /// <summary>The trim itself (replaceable for tests): a blocking, compacting collection that decommits free memory.</summary>
    public Action Trim { get; init; } = () => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>Trims done so far.</summary>
    public int Trims { get; private set; }

    /// <summary>Something happened (on the loop thread: cheap, never blocks).</summary>
    public void OnActivity()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _lastActivity = time.GetTimestamp();
            if (_armed) return;
            _armed = true;
            _timer ??= time.CreateTimer(_ => OnQuietCheck(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(QuietPeriod, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnQuietCheck()
    {
        lock (_gate)
        {
            if (_disposed) return;
            var quietFor = time.GetElapsedTime(_lastActivity);
            if (quietFor < QuietPeriod)
            {
                // Activity since the timer was set: look again when the quiet period after it has passed.
                _timer!.Change(QuietPeriod - quietFor, Timeout.InfiniteTimeSpan);
                return;
            }
            _armed = false;
        }

        var allocated = AllocatedBytes();
        var since = allocated - Interlocked.Read(ref _allocatedAtLastTrim);
        if (since < Threshold) return;
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        Trim();
        Interlocked.Exchange(ref _allocatedAtLastTrim, AllocatedBytes());
        Trims++;
        LogTrimmed(since / (1024 * 1024), before / (1024 * 1024), GC.GetGCMemoryInfo().TotalCommittedBytes / (1024 * 1024));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    [LoggerMessage(EventId = 51, Level = LogLevel.Debug, Message = "Quiet after a burst ({AllocatedMiB} MiB allocated): GC heap committed {BeforeMiB} -> {AfterMiB} MiB")]
    private partial void LogTrimmed(long allocatedMiB, long beforeMiB, long afterMiB);
}
