using System.Threading.Channels;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The feed behind <c>supctl events</c>: keeps the last <see cref="HistorySize"/> notifications of the loop in a ring
/// and copies each new one to every watcher's own bounded queue. The loop never waits on a watcher: a full queue
/// drops the item and counts it, and the watcher is told how many it missed (a <see cref="DroppedNotification"/>)
/// before the next item that fits. Memory is bounded by count and by size (events may carry large variables): the
/// ring keeps at most <see cref="HistorySize"/> items and <see cref="HistoryBytes"/>, a watcher's queue at most
/// <see cref="QueueSize"/> items and <see cref="QueueBytes"/>.
/// </summary>
public sealed class EventMonitor : IDisposable
{
    private readonly SupervisorLoop _loop;
    private readonly Lock _lock = new();
    private readonly Queue<SupervisorNotification> _history = new();
    private readonly List<EventWatcher> _watchers = [];
    private bool _disposed;

    public EventMonitor(SupervisorLoop loop, int historySize = 1000, int queueSize = 1024,
        long historyBytes = 8 << 20, long queueBytes = 4 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historySize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueSize, 2);
        _loop = loop;
        HistorySize = historySize;
        QueueSize = queueSize;
        HistoryBytes = historyBytes;
        QueueBytes = queueBytes;
        loop.Notified += OnNotified;
    }

    public int HistorySize { get; }
    public int QueueSize { get; }
    public long HistoryBytes { get; }
    public long QueueBytes { get; }
    private long _historyBytes;

    /// <summary>Roughly what an item holds in memory (strings are UTF-16).</summary>
    internal static long SizeOf(SupervisorNotification notification) => 64 + notification switch
    {
        EventNotification e => 2L * (e.Name.Length + e.Environment.Sum(v => (long)v.Length + 16)),
        StateChangeNotification s => 2L * (s.Job.Length + s.Instance.Length),
        _ => 0,
    };

    /// <summary>Items dropped across all watchers since supd started (every drop is also reported to its watcher).</summary>
    public long TotalDropped => Interlocked.Read(ref _totalDropped);
    private long _totalDropped;

    /// <summary>
    /// A new watcher. It first gets the retained items after <paramref name="afterSequence"/> (when non-zero; a gap
    /// the ring no longer covers is reported as dropped), else the last <paramref name="history"/> items; then, if
    /// <paramref name="follow"/>, every new one. <paramref name="job"/> keeps only that job's events and state changes.
    /// </summary>
    public EventWatcher Watch(string? job, int history, long afterSequence, bool follow)
    {
        var watcher = new EventWatcher(this, job, QueueSize, QueueBytes);
        lock (_lock)
        {
            var retained = _history.Where(watcher.Wants).ToList();
            IEnumerable<SupervisorNotification> replay;
            if (afterSequence > 0)
            {
                var oldest = _history.Count > 0 ? _history.Peek().Sequence : long.MaxValue;
                if (oldest > afterSequence + 1 && _history.Count > 0)
                    watcher.Add(new DroppedNotification(oldest - 1, _history.Peek().Time, oldest - afterSequence - 1));
                replay = retained.Where(n => n.Sequence > afterSequence);
            }
            else
            {
                replay = retained.Skip(Math.Max(0, retained.Count - history));
            }
            // The replay must fit the queue even if it is the whole ring.
            foreach (var item in replay) watcher.Add(item, unbounded: true);
            if (follow && !_disposed) _watchers.Add(watcher);
            else watcher.Complete();
        }
        return watcher;
    }

    internal void Remove(EventWatcher watcher)
    {
        lock (_lock) _watchers.Remove(watcher);
    }

    internal void CountDropped() => Interlocked.Increment(ref _totalDropped);

    // On the loop thread: copy and return, never block.
    private void OnNotified(SupervisorNotification notification)
    {
        lock (_lock)
        {
            _history.Enqueue(notification);
            _historyBytes += SizeOf(notification);
            while (_history.Count > HistorySize || (_historyBytes > HistoryBytes && _history.Count > 1))
                _historyBytes -= SizeOf(_history.Dequeue());
            foreach (var watcher in _watchers)
            {
                if (watcher.Wants(notification)) watcher.Add(notification);
            }
        }
    }

    /// <summary>Ends every watcher's stream (supd is stopping: an open stream would hold up the server's shutdown).</summary>
    public void Dispose()
    {
        _loop.Notified -= OnNotified;
        lock (_lock)
        {
            _disposed = true;
            foreach (var watcher in _watchers) watcher.Complete();
            _watchers.Clear();
        }
    }
}

/// <summary>One watcher's queue; read <see cref="Reader"/>, dispose to unsubscribe.</summary>
public sealed class EventWatcher : IDisposable
{
    private readonly EventMonitor _monitor;
    private readonly string? _job;
    private readonly Channel<SupervisorNotification> _queue;
    private readonly int _capacity;
    private readonly long _capacityBytes;
    private int _queued;
    private long _queuedBytes;
    private long _dropped;

    internal EventWatcher(EventMonitor monitor, string? job, int capacity, long capacityBytes)
    {
        _monitor = monitor;
        _job = string.IsNullOrEmpty(job) ? null : job;
        _capacity = capacity;
        _capacityBytes = capacityBytes;
        // Unbounded channel, bounded by our own count, so a replay can exceed the live bound once.
        _queue = Channel.CreateUnbounded<SupervisorNotification>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>Items this watcher missed because its queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public async IAsyncEnumerable<SupervisorNotification> ReadAllAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Add(ref _queuedBytes, -EventMonitor.SizeOf(item));
            yield return item;
        }
    }

    internal bool Wants(SupervisorNotification notification) => _job is null || notification switch
    {
        StateChangeNotification s => s.Job == _job,
        EventNotification e => e.Environment.Any(v => v == "JOB=" + _job),
        _ => true,
    };

    // Called under the monitor's lock, so additions are ordered; the reader only decrements.
    internal void Add(SupervisorNotification item, bool unbounded = false)
    {
        if (!unbounded && (Volatile.Read(ref _queued) >= _capacity ||
            (Interlocked.Read(ref _queuedBytes) + EventMonitor.SizeOf(item) > _capacityBytes && Volatile.Read(ref _queued) > 0)))
        {
            _pendingDropped++;
            Interlocked.Increment(ref _dropped);
            _monitor.CountDropped();
            return;
        }
        if (_pendingDropped > 0)
        {
            // Reported where the gap is: after what was queued before it, before this item.
            Write(new DroppedNotification(item.Sequence - 1, item.Time, _pendingDropped));
            _pendingDropped = 0;
        }
        Write(item);
    }

    private long _pendingDropped;

    private void Write(SupervisorNotification item)
    {
        if (!_queue.Writer.TryWrite(item)) return;
        Interlocked.Increment(ref _queued);
        Interlocked.Add(ref _queuedBytes, EventMonitor.SizeOf(item));
    }

    internal void Complete() => _queue.Writer.TryComplete();

    public void Dispose()
    {
        _monitor.Remove(this);
        Complete();
    }
}
