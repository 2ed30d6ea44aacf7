using System.Buffers.Binary;
using System.Collections;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Forking;

/// <summary>How a spawn offered to the fork server went.</summary>
internal enum ForkOutcome
{
    /// <summary>The server could not take it (not started, not ready yet, failing, or the request too big): use an exec helper of its own.</summary>
    NotTaken,
    /// <summary>The job's process runs (its report is to come on its status pipe).</summary>
    Spawned,
    /// <summary>The spawn failed; it may have cloned a process that was never named, which the instance's containment ends.</summary>
    Failed,
}

/// <summary>
/// supd's side of the <see cref="ForkServer"/>: started on the first spawn that needs it (that spawn and any until the
/// server says it is ready go through exec helpers of their own, so no spawn waits for a runtime to start), asked
/// under the reaper's <see cref="ChildReaper.Gate"/> so the sweep never sees the job before it is tracked, and
/// replaced after a failure, once the retry delay (<see cref="Limits.ForkServerRetryDelay"/>) has passed. The server's own exit is
/// reaped and never reported.
/// </summary>
internal sealed partial class ForkServerClient(IReadOnlyList<string> helperCommand, ChildReaper reaper, ILogger log, TimeSpan retryDelay)
    : IDisposable
{
    private readonly ILogger _log = log;
    private readonly bool _supported = Syscalls.ForThisMachine(out _);
    private int _socket = -1;
    private int _pid;
    private bool _ready;
    private long _retryAt;

    /// <summary>Spawns the server made, and times it failed (each time it was replaced).</summary>
    public long Spawns { get; private set; }
    public long Failures { get; private set; }

    /// <summary>True when the running server said it clones each child as vfork does (else it forks them).</summary>
    public bool Vfork { get; private set; }

    /// <summary>The server's pid while one runs (0 otherwise).</summary>
    public int Pid => _socket >= 0 ? _pid : 0;

    // Under the gate: true once the running server said it is ready.
    private bool IsReadyLocked()
    {
        if (_ready || _socket < 0) return _ready;
        var received = ReadAnswer(out var answer);
        if (received == -Errno.EAGAIN) return false;
        if (received == 4 && answer is ForkServer.Ready or ForkServer.ReadyVfork)
        {
            Vfork = answer == ForkServer.ReadyVfork;
            return _ready = true;
        }
        BrokenLocked(received == 0 ? "it ended before it was ready" : $"its first answer was not ready ({received})");
        return false;
    }

    // One answer from the server, without waiting: the bytes received (4 for an answer, 0 at end of file) or -errno.
    private int ReadAnswer(out int answer)
    {
        Span<byte> bytes = stackalloc byte[4];
        var fds = new List<int>();
        var received = Libc.ReceiveWithFds(_socket, bytes, fds, out _, Libc.MSG_DONTWAIT);
        foreach (var fd in fds) Libc.Close(fd); // the server sends none; never keep what it should not have sent
        answer = received == 4 ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : 0;
        return received;
    }

    /// <summary>Under the gate: starts the server if none runs (and none failed within the retry delay); true once it is ready.</summary>
    public bool EnsureReadyLocked()
    {
        if (!_supported) return false;
        if (_socket < 0 && Environment.TickCount64 >= _retryAt) StartLocked();
        return IsReadyLocked();
    }

    /// <summary>
    /// Under the reaper's gate: asks the server to spawn <paramref name="message"/> with <paramref name="fds"/>. The pid
    /// comes back in <paramref name="pid"/> (the caller tracks it before it lets the gate go), or the failure in
    /// <paramref name="error"/>.
    /// </summary>
    public unsafe ForkOutcome TrySpawnLocked(byte[] message, ReadOnlySpan<int> fds, out int pid, out string error, out bool transient)
    {
        pid = 0;
        error = "";
        transient = false;
        if (!EnsureReadyLocked()) return ForkOutcome.NotTaken;
        // Between two requests the server says nothing: anything to read now (end of file, a reset) means it is gone,
        // and this request, not sent yet, can go through a helper of its own.
        var idle = new Libc.PollFd { Fd = _socket, Events = Libc.POLLIN };
        if (Libc.Poll(&idle, 1, 0) != 0)
        {
            BrokenLocked("it ended");
            return ForkOutcome.NotTaken;
        }

        var sent = Libc.SendWithFds(_socket, message, fds);
        if (sent == 90 /* EMSGSIZE */) return ForkOutcome.NotTaken;
        if (sent != 0)
        {
            // Not sent: nothing was cloned, an exec helper of its own does it.
            BrokenLocked($"the request could not be sent: {new Errno(sent).Message}");
            return ForkOutcome.NotTaken;
        }
        var poll = new Libc.PollFd { Fd = _socket, Events = Libc.POLLIN };
        var timeout = (int)Limits.ForkServerReplyTimeout.TotalMilliseconds;
        var deadline = Environment.TickCount64 + timeout;
        int ready;
        while ((ready = Libc.Poll(&poll, 1, (int)Math.Max(0, deadline - Environment.TickCount64))) < 0 && Errno.Last.Value == Errno.EINTR) { }
        var value = 0;
        var received = ready > 0 ? ReadAnswer(out value) : -Libc.ETIMEDOUT;
        if (received != 4)
        {
            // Sent but not answered: it may have cloned the job's process. The spawn fails (a respawning job tries
            // again), and ending the instance's start ends what may have been cloned.
            var why = received switch
            {
                0 => "it ended",
                -Libc.ETIMEDOUT => $"it did not answer within {Limits.ForkServerReplyTimeout.TotalSeconds:0.#}s",
                < 0 => $"its answer could not be read: {new Errno(-received).Message}",
                _ => $"its answer was {received} bytes",
            };
            BrokenLocked(why);
            error = $"the fork server failed: {why}";
            transient = true;
            return ForkOutcome.Failed;
        }
        if (value <= 0)
        {
            var errno = new Errno(-value);
            error = $"unable to start the process: {errno.Message}";
            transient = errno.IsTransient;
            return ForkOutcome.Failed;
        }
        Spawns++;
        pid = value;
        return ForkOutcome.Spawned;
    }

    // Under the gate: a socket pair, and the server on its end as fd 3, in a session of its own (a terminal's ^C is not
    // for it), with supd's environment and the runtime's settings for a helper.
    private unsafe void StartLocked()
    {
        var pair = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, pair) != 0)
        {
            FailedToStart($"socketpair: {Errno.Last.Message}");
            return;
        }
        var argv = helperCommand.Append(ForkServer.Flag).Append(ForkServer.SayCloneFlag).ToList();
        Vfork = false;
        var environment = new List<string>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            if (entry.Key is string name && !ExecHelper.RuntimeVariables().Any(v => v.Name == name))
                environment.Add($"{name}={entry.Value}");
        foreach (var (name, value) in ExecHelper.RuntimeVariables())
            if (value is not null) environment.Add($"{name}={value}");
        // A JIT runtime (supd under dotnet, or a test host's build) would otherwise tier methods up on a thread of its
        // own, and installing them suspends every thread as a GC does: a clone at that moment leaves a child that
        // waits forever for a suspension no thread of it will end (ForkChild). Without tiering, the server's one
        // allocating thread, the one that clones, is the only one that ever stops the others. NativeAOT ignores it.
        // And without W^X: with it, a JIT runtime keeps its code in a memfd mapped twice (RX to run, RW to patch), and a
        // memfd mapping stays shared across a clone. A child's first call through a stub not yet patched patches it
        // through that shared memory (mapping, writing and unmapping a view), under the server's feet: the child
        // crashed, and the server with it (the samples' worker job, a script, in cgroup mode). Without W^X the code
        // is private memory, copied on write like the rest of the child.
        environment.RemoveAll(entry => entry.StartsWith("DOTNET_TieredCompilation=", StringComparison.Ordinal)
            || entry.StartsWith("DOTNET_EnableWriteXorExecute=", StringComparison.Ordinal));
        environment.Add("DOTNET_TieredCompilation=0");
        environment.Add("DOTNET_EnableWriteXorExecute=0");

        // Its own session, stdout and stderr supd's (where a runtime's fatal error would go), the socket as fd 3.
        var rc = HelperProcess.Spawn(argv, environment, pair[1], ForkServer.SocketFd, quiet: false, out var pid);
        if (rc == 0) reaper.TrackInternalLocked(pid);
        Libc.Close(pair[1]);
        if (rc != 0)
        {
            Libc.Close(pair[0]);
            FailedToStart($"{argv[0]}: {new Errno(rc).Message}");
            return;
        }
        _socket = pair[0];
        _pid = pid;
        _ready = false;
        LogStarted(pid, string.Join(' ', argv));
    }

    private void FailedToStart(string why)
    {
        Failures++;
        _retryAt = Environment.TickCount64 + (long)retryDelay.TotalMilliseconds;
        LogStartFailed(why, retryDelay.TotalSeconds);
    }

    // Under the gate: this server is done (killed, should it still run); the next one after the retry delay.
    private void BrokenLocked(string why)
    {
        Failures++;
        LogBroken(_pid, why, retryDelay.TotalSeconds);
        reaper.SignalLocked(_pid, Signals.SIGKILL);
        Libc.Close(_socket);
        _socket = -1;
        _ready = false;
        _retryAt = Environment.TickCount64 + (long)retryDelay.TotalMilliseconds;
    }

    /// <summary>Closes supd's end, so the server reads end of file and exits, and reaps it.</summary>
    public void Dispose()
    {
        int pid;
        lock (reaper.Gate)
        {
            if (_socket < 0) return;
            Libc.Close(_socket);
            _socket = -1;
            pid = _pid;
        }
        reaper.EndInternal(pid, TimeSpan.FromSeconds(1));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Fork server started (pid {Pid}: {Command})")]
    private partial void LogStarted(int pid, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fork server could not start ({Reason}); spawns go through an exec helper each for {Seconds} s")]
    private partial void LogStartFailed(string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fork server (pid {Pid}) failed: {Reason}; it is killed, and spawns go through an exec helper each for {Seconds} s")]
    private partial void LogBroken(int pid, string reason, double seconds);
}
