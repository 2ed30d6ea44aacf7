using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Copies every job process's output pipe into its sink until end of file, that is until every writer (the process
/// and any child that inherited the pipe) has closed it, so no byte written before the exit is lost.
///
/// A small fixed set of pump threads (one per core, at least two) each waits on its share of the pipes with epoll and
/// drains a ready pipe with plain read(2)s into the thread's one buffer, as <c>cat</c> would: a fast writer costs one
/// read and one write per chunk, with no thread-pool hop. Threads and buffers do not grow with the number of jobs
/// (a thousand idle jobs cost a thousand descriptors, not a thousand threads and buffers). A slow log disk blocks the
/// pump thread writing to it, so the pipes it serves fill and their jobs slow down (back-pressure) instead of supd
/// buffering without bound; a ready pipe is read at most <see cref="ReadsPerTurn"/> times before the others get a turn.
/// </summary>
internal sealed unsafe partial class OutputPump : IDisposable
{
    private const int BufferSize = 128 * 1024;
    private const int ReadsPerTurn = 16;
    private const int MaxEvents = 64;
    private const int StackSize = 256 * 1024;

    private readonly PumpThread[] _threads;
    private int _next;

    public OutputPump(ILogger log, int? threads = null)
    {
        var count = threads ?? Math.Clamp(Environment.ProcessorCount, 2, 8);
        _threads = new PumpThread[count];
        for (var i = 0; i < count; i++) _threads[i] = new PumpThread(log, i);
    }

    /// <summary>Starts pumping <paramref name="readFd"/> (which the pump owns and closes); the task ends at end of file.</summary>
    public Task Start(int readFd, IOutputSink sink, string description)
    {
        // Round robin: a pipe stays on its thread for its whole life, so its bytes reach the sink in order.
        var thread = _threads[(int)((uint)Interlocked.Increment(ref _next) % (uint)_threads.Length)];
        return thread.Add(readFd, sink, description);
    }

    /// <summary>
    /// Stops every pump thread between two chunks, for a re-exec: once this returns true no byte is in flight (each
    /// chunk read went to its sink whole), every pipe was read as far as it then went (one whose writers are all gone is
    /// finished, so a task's last lines are in its log), and what jobs write from then on stays in their pipes. False
    /// when a thread did not stop within <paramref name="timeout"/> (a sink write stuck on a slow disk): the threads
    /// are let go again.
    /// </summary>
    public bool Park(TimeSpan timeout)
    {
        foreach (var thread in _threads) thread.RequestPark();
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var thread in _threads)
        {
            if (thread.WaitParked(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)))) continue;
            Unpark();
            return false;
        }
        return true;
    }

    public void Unpark()
    {
        foreach (var thread in _threads) thread.Unpark();
    }

    /// <summary>While parked: the pipes being pumped, with their sinks (a re-exec hands over those it knows).</summary>
    public IReadOnlyList<(int Fd, IOutputSink Sink)> Pipes() => [.. _threads.SelectMany(t => t.Pipes())];

    public void Dispose()
    {
        foreach (var thread in _threads) thread.Dispose();
    }

    private sealed class Pipe(int fd, IOutputSink sink, string description)
    {
        public int Fd { get; } = fd;
        public IOutputSink Sink { get; } = sink;
        public string Description { get; } = description;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed partial class PumpThread : IDisposable
    {
        private readonly ILogger _log;
        private readonly int _epoll;
        private readonly int _wake;
        private readonly ConcurrentDictionary<int, Pipe> _pipes = new();
        private readonly Thread _thread;
        private volatile bool _disposed;
        private volatile bool _parkRequested;
        private readonly ManualResetEventSlim _parked = new(false);
        private readonly ManualResetEventSlim _resume = new(true);

        public PumpThread(ILogger log, int index)
        {
            _log = log;
            _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
            if (_epoll < 0) throw new IOException($"epoll_create1: {Errno.Last}");
            _wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (_wake < 0) throw new IOException($"eventfd: {Errno.Last}");
            Register(_wake);
            _thread = new Thread(Run, StackSize) { IsBackground = true, Name = $"supd-pump-{index}" };
            _thread.Start();
        }

        public Task Add(int fd, IOutputSink sink, string description)
        {
            var pipe = new Pipe(fd, sink, description);
            // Non-blocking, so draining stops at "nothing more for now" and the thread goes back to the others.
            Libc.Fcntl(fd, Libc.F_SETFL, Libc.Fcntl(fd, Libc.F_GETFL, 0) | Libc.O_NONBLOCK);
            _pipes[fd] = pipe;
            if (!Register(fd))
            {
                LogPumpFailed(_log, description, Errno.Last.Message);
                Finish(pipe);
            }
            return pipe.Done.Task;
        }

        private bool Register(int fd) => Libc.EpollAdd(_epoll, fd, (ulong)fd);

        public void RequestPark()
        {
            _resume.Reset();
            _parked.Reset(); // here, not by the thread: a thread that has not yet seen the last Unpark must not count as parked
            _parkRequested = true;
            WakeUp();
        }

        public bool WaitParked(TimeSpan timeout) => _parked.Wait(timeout);

        public void Unpark()
        {
            _parkRequested = false;
            _resume.Set();
        }

        public IEnumerable<(int Fd, IOutputSink Sink)> Pipes() => _pipes.Values.Select(p => (p.Fd, p.Sink));

        private void WakeUp()
        {
            ulong one = 1;
            Libc.Write(_wake, &one, sizeof(ulong));
        }

        // Between two chunks: a re-exec waits for every thread to get here (OutputPump.Park), each pipe read first as far
        // as it goes now (up to a turn's worth of a fast writer; the rest waits in the pipe, which is handed over).
        private void ParkIfAsked(byte* buffer)
        {
            while (_parkRequested)
            {
                foreach (var pipe in _pipes.Values.ToArray())
                {
                    Drain(pipe, buffer);
                    // Once more: a read that returned less than a buffer does not say whether end of file follows.
                    if (_pipes.ContainsKey(pipe.Fd)) Drain(pipe, buffer);
                }
                _parked.Set();
                _resume.Wait();
            }
        }

        private void Run()
        {
            var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
            var events = stackalloc byte[Libc.EpollEventsBytes(MaxEvents)];
            fixed (byte* start = buffer)
            {
                while (!_disposed)
                {
                    ParkIfAsked(start);
                    var count = Libc.EpollWait(_epoll, events, MaxEvents, -1);
                    if (count < 0)
                    {
                        if (Errno.Last.Value == Errno.EINTR) continue;
                        LogPumpFailed(_log, "every job", Errno.Last.Message);
                        return;
                    }
                    for (var i = 0; i < count; i++)
                    {
                        var fd = (int)Libc.EpollData(events, i);
                        if (fd == _wake)
                        {
                            ulong counter;
                            Libc.Read(_wake, &counter, sizeof(ulong));
                            continue;
                        }
                        if (_pipes.TryGetValue(fd, out var pipe)) Drain(pipe, start);
                    }
                }
            }
        }

        /// <summary>Reads what the pipe holds (up to a turn's worth); at end of file or on an error the pipe is done.</summary>
        private void Drain(Pipe pipe, byte* buffer)
        {
            for (var turn = 0; turn < ReadsPerTurn; turn++)
            {
                var read = Libc.Read(pipe.Fd, buffer, BufferSize);
                if (read > 0)
                {
                    pipe.Sink.Write(new ReadOnlySpan<byte>(buffer, (int)read));
                    if (read < BufferSize) return; // drained for now; a pipe never returns less while more is buffered
                    continue;
                }
                if (read < 0)
                {
                    var error = Errno.Last;
                    if (error.Value is Errno.EAGAIN) return;
                    if (error.Value is Errno.EINTR) continue;
                    LogPumpFailed(_log, pipe.Description, error.Message);
                }
                Finish(pipe);
                return;
            }
        }

        private void Finish(Pipe pipe)
        {
            _pipes.TryRemove(pipe.Fd, out _);
            // Closing the descriptor removes it from the epoll set.
            Libc.Close(pipe.Fd);
            try
            {
                pipe.Sink.Completed();
            }
            finally
            {
                pipe.Done.TrySetResult();
            }
        }

        public void Dispose()
        {
            _disposed = true;
            Unpark();
            WakeUp();
            _thread.Join(TimeSpan.FromSeconds(2));
            if (_thread.IsAlive) return; // a sink write is stuck on a dead disk; the process is ending anyway
            foreach (var pipe in _pipes.Values) Finish(pipe);
            Libc.Close(_wake);
            Libc.Close(_epoll);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the output of {Process} failed: {Reason}")]
    private static partial void LogPumpFailed(ILogger log, string process, string reason);
}
