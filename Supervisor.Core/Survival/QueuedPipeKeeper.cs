using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Survival;

/// <summary>
/// What both real keepers share: Keep and Forget validate, duplicate the fd and queue (never blocking the
/// supervision loop); one thread of the keeper's own sends in order. Release and Detach wait for the queue to drain,
/// at most <see cref="PipeKeeper.FlushTimeout"/>.
/// </summary>
public abstract class QueuedPipeKeeper : IPipeKeeper
{
    private enum Kind { Keep, Forget, Flush, Release }

    private readonly record struct Operation(Kind Kind, string? Name, int Fd, ManualResetEventSlim? Done);

    private readonly BlockingCollection<Operation> _queue = new(PipeKeeper.MaxPendingOperations);
    private readonly Thread _sender;
    private IReadOnlyDictionary<string, int> _recovered;
    private long _failures;
    private int _finished;

    protected QueuedPipeKeeper(ILogger log, IReadOnlyDictionary<string, int> recovered)
    {
        Log = log;
        _recovered = recovered;
        _sender = new Thread(Send) { IsBackground = true, Name = "pipe keeper" };
    }

    protected ILogger Log { get; }

    public abstract string Description { get; }
    public bool IsActive => true;
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Starts the sender thread; called by the factory once the keeper is set up.</summary>
    internal void Start() => _sender.Start();

    /// <summary>How many recovered pipes wait for <see cref="TakeRecovered"/>.</summary>
    internal int RecoveredCount => Volatile.Read(ref _recovered).Count;

    public IReadOnlyDictionary<string, int> TakeRecovered() =>
        Interlocked.Exchange(ref _recovered, new Dictionary<string, int>());

    public void Keep(string name, int fd)
    {
        if (!PipeKeeper.IsValidName(name))
        {
            Fail($"keep {PipeKeeper.Quote(name)}", "not a valid pipe name ([A-Za-z0-9._-], 1 to 64 characters)");
            return;
        }
        var copy = Libc.DupCloseOnExec(fd);
        if (copy < 0)
        {
            Fail($"keep {name}", $"cannot duplicate fd {fd}: {Errno.Last}");
            return;
        }
        if (!Enqueue(new Operation(Kind.Keep, name, copy, null))) Libc.Close(copy);
    }

    public void Forget(string name)
    {
        if (!PipeKeeper.IsValidName(name))
        {
            Fail($"forget {PipeKeeper.Quote(name)}", "not a valid pipe name ([A-Za-z0-9._-], 1 to 64 characters)");
            return;
        }
        Enqueue(new Operation(Kind.Forget, name, -1, null));
    }

    public void Release() => Finish(Kind.Release);

    public void Detach() => Finish(Kind.Flush);

    public void Dispose()
    {
        Finish(Kind.Flush);
        GC.SuppressFinalize(this);
    }

    /// <summary>Sends one pipe (a failure is counted with <see cref="Fail"/>). The base closes <paramref name="fd"/> after.</summary>
    protected abstract void SendKeep(string name, int fd);

    protected abstract void SendForget(string name);

    /// <summary>Lets go of everything kept.</summary>
    protected abstract void SendRelease();

    /// <summary>After the last operation: reads what is left to read (errors), nothing slow.</summary>
    protected virtual void Flushed() { }

    /// <summary>Closes the keeper's own sockets; the sender thread has ended (or is stuck past the timeout).</summary>
    protected abstract void CloseResources();

    /// <summary>Counts a failure and logs the first, then every 100th.</summary>
    protected void Fail(string what, string reason)
    {
        var failures = Interlocked.Increment(ref _failures);
        if (failures == 1 || failures % 100 == 0) PipeKeeperLog.Failed(Log, Description, what, reason, failures);
    }

    private bool Enqueue(Operation operation)
    {
        try
        {
            if (Volatile.Read(ref _finished) == 0 && _queue.TryAdd(operation)) return true;
        }
        catch (InvalidOperationException)
        {
            // Added after the queue was completed (a Keep racing with Release or Detach): counted below.
        }
        Fail($"{operation.Kind.ToString().ToLowerInvariant()} {operation.Name}",
            Volatile.Read(ref _finished) != 0 ? "the keeper has stopped" : $"more than {PipeKeeper.MaxPendingOperations} operations queued");
        return false;
    }

    private void Finish(Kind last)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) return;
        // Not disposed: a sender stuck past the timeout may still set it.
        var done = new ManualResetEventSlim();
        var queued = false;
        try
        {
            _queue.Add(new Operation(last, null, -1, done));
            queued = true;
        }
        catch (InvalidOperationException)
        {
            // Never completed before _finished is set; kept for safety.
        }
        _queue.CompleteAdding();
        var started = _sender.ThreadState != ThreadState.Unstarted;
        if (queued && started && !done.Wait(PipeKeeper.FlushTimeout)) PipeKeeperLog.FlushTimedOut(Log, Description, PipeKeeper.FlushTimeout.TotalSeconds);
        if (started) _sender.Join(PipeKeeper.FlushTimeout);
        // What the sender did not take (it was stuck past the timeout): never sent, so counted; its fds are ours to close.
        while (_queue.TryTake(out var left))
        {
            if (left.Fd >= 0) Libc.Close(left.Fd);
            if (left.Kind is Kind.Keep or Kind.Forget) Fail($"{left.Kind.ToString().ToLowerInvariant()} {left.Name}", "not sent before the keeper stopped");
        }
        CloseResources();
        foreach (var fd in TakeRecovered().Values) Libc.Close(fd);
    }

    private void Send()
    {
        foreach (var operation in _queue.GetConsumingEnumerable())
        {
            try
            {
                switch (operation.Kind)
                {
                    case Kind.Keep:
                        SendKeep(operation.Name!, operation.Fd);
                        break;
                    case Kind.Forget:
                        SendForget(operation.Name!);
                        break;
                    case Kind.Release:
                        SendRelease();
                        break;
                    case Kind.Flush:
                        Flushed();
                        break;
                }
            }
            catch (Exception e)
            {
                // One failed send must not end the thread that sends all the others.
                Fail($"{operation.Kind.ToString().ToLowerInvariant()} {operation.Name}", e.Message);
            }
            finally
            {
                if (operation.Fd >= 0) Libc.Close(operation.Fd);
                operation.Done?.Set();
            }
        }
    }
}
