using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Supervisor.Core;
using Supervisor.Core.Configuration;
using Supervisor.Core.Processes;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// Who may hold a control connection: at most <see cref="Limits.MaxConnectionsPerUser"/> per uid and
/// <see cref="Limits.MaxConnections"/> in all (root and supd's own user are held to neither, so a flood by a local
/// user never locks root out), and never one that would eat into the fds kept for supervision
/// (<see cref="FileDescriptorBudget"/>; root may use half of that reserve). Every refusal is counted; a warning says so at most every 10 s.
/// </summary>
public sealed partial class ConnectionGuard(ILogger<ConnectionGuard> log)
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);
    private readonly FileDescriptorBudget _fds = new();
    private readonly Dictionary<uint, int> _perUser = [];
    private readonly Lock _gate = new();
    private readonly uint _ownUid = DefaultPaths.CurrentUid;
    private int _open;
    private long _refused;
    private long _lastWarning = long.MinValue;

    public long Refused => Interlocked.Read(ref _refused);

    public bool TryAdmit(uint uid)
    {
        var privileged = uid == 0 || uid == _ownUid;
        string? reason;
        lock (_gate)
        {
            _perUser.TryGetValue(uid, out var mine);
            reason = !privileged && mine >= Limits.MaxConnectionsPerUser ? $"uid {uid} holds {mine} connections, the most one user may"
                : !privileged && _open >= Limits.MaxConnections ? $"{_open} connections are open, the most supd accepts"
                : !_fds.TryTake(privileged) ? "the file descriptors left are kept for supervision"
                : null;
            if (reason is null)
            {
                _perUser[uid] = mine + 1;
                _open++;
                return true;
            }
        }
        Refuse(reason);
        return false;
    }

    public void Release(uint uid)
    {
        lock (_gate)
        {
            _open--;
            if (_perUser.TryGetValue(uid, out var mine) && mine > 1) _perUser[uid] = mine - 1;
            else _perUser.Remove(uid);
        }
    }

    public void Refuse(string reason)
    {
        var count = Interlocked.Increment(ref _refused);
        var now = TimeProvider.System.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarning);
        if (last != long.MinValue && TimeProvider.System.GetElapsedTime(last, now) < WarningInterval) return;
        if (Interlocked.CompareExchange(ref _lastWarning, now, last) != last) return;
        LogRefused(count, reason);
    }

    /// <summary>The total, once, when supd stops (the warnings are rate-limited).</summary>
    public void LogTotal()
    {
        if (Refused > 0) LogRefusedTotal(Refused);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a control connection: {Reason} ({Count} refused since supd started)")]
    private partial void LogRefused(long count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} control connections refused since supd started")]
    private partial void LogRefusedTotal(long count);
}

/// <summary>
/// Kestrel's transport for the Unix socket, with supd's accept loop. Kestrel's own retries a failed accept at once:
/// with the fd limit reached, accept4 failed with EMFILE in a busy loop at 100 % CPU while the connection stayed in the
/// backlog. Here an EMFILE frees a reserve fd, accepts and closes the waiting connection (counted as refused) and
/// takes the reserve back; if even that fails it waits a moment. Each accepted connection passes
/// <see cref="ConnectionGuard"/> before Kestrel sees it.
/// </summary>
public sealed class GuardedSocketTransport(ConnectionGuard guard, ILoggerFactory loggers, HandoverStart handover, ActiveControlCalls calls) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private Listener? _listener;
    private int _inheritedFd = handover.State?.ListenFd ?? -1;

    public bool CanBind(EndPoint endpoint) => endpoint is UnixDomainSocketEndPoint;

    /// <summary>The control socket's listening descriptor (a re-exec hands it over), or -1 before it is bound.</summary>
    public int ListenFd => (int?)_listener?.Socket.Handle ?? -1;

    /// <summary>
    /// Stops taking connections from the backlog (a re-exec): a client's connect still succeeds and its request waits
    /// there for the next image. Completes once no accept is pending.
    /// </summary>
    public Task PauseAcceptingAsync() => _listener?.PauseAsync() ?? Task.CompletedTask;

    public void ResumeAccepting() => _listener?.Resume();

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        Socket socket;
        if (Interlocked.Exchange(ref _inheritedFd, -1) is var fd and >= 3)
        {
            // The previous image's listener, still listening: nothing was ever closed, so nobody was refused.
            Supervisor.Core.Interop.Libc.SetCloseOnExec(fd, true);
            socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        }
        else
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Bind(endpoint);
                socket.Listen(512);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        var factory = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), loggers.CreateLogger<GuardedSocketTransport>());
        var listener = new Listener(socket.LocalEndPoint ?? endpoint, socket, guard, factory, calls);
        _listener = listener;
        return new ValueTask<IConnectionListener>(listener);
    }

    private sealed class Listener(EndPoint endpoint, Socket socket, ConnectionGuard guard, SocketConnectionContextFactory factory, ActiveControlCalls calls)
        : IConnectionListener
    {
        private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);
        private SafeHandle? _reserve = OpenReserve();
        private readonly Lock _pauseGate = new();
        private TaskCompletionSource? _resume;
        private TaskCompletionSource _idle = Completed();
        private CancellationTokenSource _pausing = new();

        public EndPoint EndPoint => endpoint;
        public Socket Socket => socket;

        private static TaskCompletionSource Completed()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            done.SetResult();
            return done;
        }

        public Task PauseAsync()
        {
            lock (_pauseGate)
            {
                if (_resume is null)
                {
                    _resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    // Done once the accept loop next comes round (an accept under way is cancelled, or has just
                    // returned a connection: that one is counted as fresh until its first call).
                    _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _pausing.Cancel();
                }
                return _idle.Task;
            }
        }

        public void Resume()
        {
            lock (_pauseGate)
            {
                _pausing = new CancellationTokenSource();
                _resume?.TrySetResult();
                _resume = null;
            }
        }

        // Paused: wait for Resume (or the end) before the next accept.
        private async Task<bool> WaitWhilePausedAsync(CancellationToken cancellationToken)
        {
            Task? resume;
            lock (_pauseGate)
            {
                resume = _resume?.Task;
                if (resume is not null) _idle.TrySetResult();
            }
            if (resume is null) return true;
            try
            {
                await resume.WaitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (!await WaitWhilePausedAsync(cancellationToken).ConfigureAwait(false)) return null;
                Socket accepted;
                CancellationToken pausing;
                lock (_pauseGate) pausing = _pausing.Token;
                using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pausing);
                try
                {
                    accepted = await socket.AcceptAsync(either.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (pausing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    continue; // paused: the connection (if any) stays in the backlog
                }
                catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException ||
                                          e is SocketException { SocketErrorCode: SocketError.OperationAborted })
                {
                    return null;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    await ShedAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch (SocketException)
                {
                    continue; // reset while in the backlog
                }

                var uid = PeerUid(accepted);
                if (uid is not { } caller || !guard.TryAdmit(caller))
                {
                    if (uid is null) guard.Refuse("its peer credentials could not be read");
                    accepted.Dispose();
                    continue;
                }
                var connection = factory.Create(accepted);
                connection.ConnectionClosed.Register(() => guard.Release(caller));
                calls.Accepted(connection);
                return connection;
            }
        }

        // Out of fds: drop the waiting connection with the reserve's fd, so the backlog drains instead of spinning.
        private async Task ShedAsync(CancellationToken cancellationToken)
        {
            guard.Refuse("supd is out of file descriptors");
            _reserve?.Dispose();
            _reserve = null;
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(Pause);
                using var dropped = await socket.AcceptAsync(wait.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            _reserve = OpenReserve();
            if (_reserve is null)
            {
                try
                {
                    await Task.Delay(Pause, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        private static SafeHandle? OpenReserve()
        {
            try
            {
                return File.OpenHandle("/dev/null");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        private static uint? PeerUid(Socket accepted)
        {
            try
            {
                Span<byte> ucred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
                accepted.GetRawSocketOption(1, 17, ucred); // SOL_SOCKET, SO_PEERCRED
                return MemoryMarshal.Read<uint>(ucred[4..]);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            _reserve?.Dispose();
            factory.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
