using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Survival;

/// <summary>How supd starts its fd holder (tests shorten the sweep and name the binary).</summary>
internal sealed record FdHolderOptions
{
    /// <summary>The holder's binary and leading arguments: <see cref="ExecHelper.DefaultCommand"/> when null.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    public TimeSpan SweepInterval { get; init; } = FdHolder.DefaultSweepInterval;

    /// <summary>
    /// How long the holder has to answer LIST at open: a native holder answers in milliseconds, supd itself in holder
    /// mode (a JIT start) in 0.1-0.2 s, but either can take seconds on a machine whose cores are all busy.
    /// </summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// supd's side of the fd holder (<see cref="FdHolder"/>): at open, connects to the holder a previous supd left at the
/// socket path and takes its pipes back with LIST, or, when none listens there, starts a fresh one. Keeps and forgets
/// go to it from the sender thread. If the holder dies while supd runs, that is counted and logged and a new holder
/// is started for the next keeps; the pipes the dead one held are not sent again (supd closed its copies after
/// Keep), so those survive no crash of supd that comes later.
/// </summary>
public sealed class FdHolderClient : QueuedPipeKeeper
{
    private const int S_IFLNK = 0xA000;

    private readonly string _path;
    private readonly FdHolderOptions _options;
    private volatile int _socket;
    private volatile int _holderPid;
    private bool _lostLogged;

    private FdHolderClient(string path, FdHolderOptions options, int socket, int holderPid,
        Dictionary<string, int> recovered, ILogger log) : base(log, recovered)
    {
        _path = path;
        _options = options;
        _socket = socket;
        _holderPid = holderPid;
    }

    public override string Description => $"fd holder (pid {_holderPid}, {_path})";

    /// <summary>The holder's pid (its answer to LIST).</summary>
    internal int HolderPid => _holderPid;

    /// <summary>Connects to the holder at <paramref name="path"/> or starts one there; throws <see cref="PipeKeeperException"/>.</summary>
    internal static FdHolderClient Open(string path, FdHolderOptions options, ILogger log)
    {
        CheckPath(path);
        var recovered = new Dictionary<string, int>(StringComparer.Ordinal);
        var (socket, pid) = ConnectOrStart(path, options, recovered);
        var client = new FdHolderClient(path, options, socket, pid, recovered, log);
        client.Start();
        return client;
    }

    protected override void SendKeep(string name, int fd) => Send($"{FdHolderProtocol.Keep} {name}", fd, $"keep {name}");

    protected override void SendForget(string name) => Send($"{FdHolderProtocol.Forget} {name}", -1, $"forget {name}");

    protected override unsafe void SendRelease()
    {
        var socket = _socket;
        if (socket < 0) return;
        var error = Libc.SendWithFd(socket, Encoding.ASCII.GetBytes(FdHolderProtocol.Release), -1);
        if (error != 0)
        {
            Fail("release", new Errno(error).Message);
            return;
        }
        // The holder closes its end as it exits: wait for end of stream, within the flush timeout.
        var deadline = Environment.TickCount64 + (long)(PipeKeeper.FlushTimeout.TotalMilliseconds * 3 / 4);
        var buffer = new byte[Limits.MaxHolderMessageBytes + 1];
        var fds = new List<int>();
        while (true)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                Fail("release", "the holder did not close within the timeout");
                break;
            }
            var poll = new Libc.PollFd { Fd = socket, Events = Libc.POLLIN };
            if (Libc.Poll(&poll, 1, (int)left) <= 0) continue;
            var length = Libc.ReceiveWithFds(socket, buffer, fds, out _, Libc.MSG_DONTWAIT);
            foreach (var fd in fds) Libc.Close(fd);
            fds.Clear();
            if (length == 0 || (length < 0 && length != -Errno.EAGAIN && length != -Errno.EINTR)) break;
        }
        // The holder unlinks nothing; a clean stop leaves no socket file behind.
        UnlinkSocketFile(_path);
    }

    protected override void Flushed() => DrainReplies();

    protected override void CloseResources()
    {
        var socket = _socket;
        _socket = -1;
        if (socket >= 0) Libc.Close(socket);
    }

    private void Send(string message, int fd, string what)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var socket = _socket;
            var error = socket < 0 ? Libc.ENOTCONN : Libc.SendWithFd(socket, bytes, fd);
            if (error == 0)
            {
                DrainReplies();
                return;
            }
            if (error is not (Libc.EPIPE or Libc.ECONNRESET or Libc.ENOTCONN or Libc.ECONNREFUSED) || attempt > 0)
            {
                Fail(what, new Errno(error).Message);
                return;
            }
            if (!Replace(what)) return;
        }
    }

    /// <summary>The holder is gone: counted, logged once, and a fresh one started for what comes next.</summary>
    private bool Replace(string what)
    {
        Fail(what, "the fd holder is gone");
        if (!_lostLogged)
        {
            _lostLogged = true;
            PipeKeeperLog.HolderLost(Log, _holderPid, Failures);
        }
        CloseResources();
        try
        {
            var stale = new Dictionary<string, int>(StringComparer.Ordinal);
            (_socket, _holderPid) = ConnectOrStart(_path, _options, stale);
            // A holder found there instead still holds these; supd's copies are not wanted now.
            foreach (var fd in stale.Values) Libc.Close(fd);
            return true;
        }
        catch (PipeKeeperException e)
        {
            Fail("start a new fd holder", e.Message);
            return false;
        }
    }

    /// <summary>Reads the holder's answers that are waiting (only ERR ones are ever sent unasked): each is a failure.</summary>
    private void DrainReplies()
    {
        var socket = _socket;
        if (socket < 0) return;
        var buffer = new byte[Limits.MaxHolderMessageBytes + 1];
        var fds = new List<int>();
        while (true)
        {
            var length = Libc.ReceiveWithFds(socket, buffer, fds, out _, Libc.MSG_DONTWAIT);
            foreach (var fd in fds) Libc.Close(fd);
            fds.Clear();
            if (length <= 0) return;
            Fail("holder", Encoding.UTF8.GetString(buffer, 0, Math.Min(length, Limits.MaxHolderMessageBytes)));
        }
    }

    /// <summary>The socket path must fit sun_path, not be a symlink, and lie in a directory owned by supd's user.</summary>
    private static unsafe void CheckPath(string path)
    {
        if (!Path.IsPathFullyQualified(path)) throw new PipeKeeperException($"{path}: not an absolute path");
        if (!Libc.UnixAddress(path, out _, out _) || path[0] == '@') throw new PipeKeeperException($"{path}: too long for a socket path ({Libc.SunPathBytes - 1} bytes at most)");
        var directory = Path.GetDirectoryName(path) ?? "/";
        var euid = Libc.GetEuid();
        if (Stat(directory) is not { } dir) throw new PipeKeeperException($"{directory}: {Errno.Last}");
        if ((dir.Mode & Libc.S_IFMT) != Libc.S_IFDIR) throw new PipeKeeperException($"{directory}: not a directory (a symbolic link is not followed)");
        if (dir.Uid != euid) throw new PipeKeeperException($"{directory}: owned by uid {dir.Uid}, not by supd's uid {euid}");
        if (Stat(path) is { } file && (file.Mode & Libc.S_IFMT) != Libc.S_IFSOCK)
            throw new PipeKeeperException((file.Mode & Libc.S_IFMT) == S_IFLNK
                ? $"{path}: is a symbolic link (not followed)"
                : $"{path}: exists and is not a socket");
    }

    /// <summary>lstat: the file itself, never what a symlink names; null when it does not exist (errno set).</summary>
    private static unsafe Libc.Statx? Stat(string path)
    {
        using var native = new NativeString(path);
        Libc.Statx status;
        return Libc.StatX(Libc.AT_FDCWD, native.Pointer, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &status) == 0 ? status : null;
    }

    private static unsafe void UnlinkSocketFile(string path)
    {
        if (Stat(path) is not { } file || (file.Mode & Libc.S_IFMT) != Libc.S_IFSOCK) return;
        using var native = new NativeString(path);
        Libc.Unlink(native.Pointer);
    }

    /// <summary>The holder listening at <paramref name="path"/> (its pipes into <paramref name="recovered"/>), or a new one.</summary>
    private static (int Socket, int Pid) ConnectOrStart(string path, FdHolderOptions options, Dictionary<string, int> recovered)
    {
        if (Stat(path) is not null)
        {
            var (socket, error) = Connect(path);
            if (socket >= 0)
            {
                try
                {
                    CheckPeer(socket, path);
                    return (socket, List(socket, path, options.AnswerTimeout, recovered));
                }
                catch
                {
                    Libc.Close(socket);
                    throw;
                }
            }
            // Nothing listens: the file of a holder that is gone. Anything else is not ours to fix.
            if (error != Libc.ECONNREFUSED) throw new PipeKeeperException($"cannot connect to the fd holder at {path}: {new Errno(error).Message}");
            UnlinkSocketFile(path);
        }
        StartHolder(path, options);
        var (fresh, failure) = Connect(path);
        if (fresh < 0) throw new PipeKeeperException($"cannot connect to the fd holder just started at {path}: {new Errno(failure).Message}");
        try
        {
            CheckPeer(fresh, path);
            var nothing = new Dictionary<string, int>(StringComparer.Ordinal);
            var pid = List(fresh, path, options.AnswerTimeout, nothing);
            foreach (var fd in nothing.Values) Libc.Close(fd);
            return (fresh, pid);
        }
        catch
        {
            Libc.Close(fresh);
            throw;
        }
    }

    private static unsafe (int Socket, int Error) Connect(string path)
    {
        Libc.UnixAddress(path, out var address, out var length);
        var socket = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0);
        if (socket < 0) return (-1, Errno.Last.Value);
        while (Libc.Connect(socket, &address, length) != 0)
        {
            var error = Errno.Last.Value;
            if (error == Errno.EINTR) continue;
            Libc.Close(socket);
            return (-1, error);
        }
        // No send may hang the sender thread for long: a holder that stops reading is as good as gone.
        Libc.SetSocketTimeouts(socket, PipeKeeper.FlushTimeout);
        return (socket, 0);
    }

    /// <summary>
    /// The holder's socket must be supd's own user's: one another user put there is refused. (SO_PEERCRED of a
    /// listening socket names who called listen(2): the supd that started the holder, of the same uid.)
    /// </summary>
    private static void CheckPeer(int socket, string path)
    {
        var euid = Libc.GetEuid();
        if (Libc.PeerCredentials(socket) is not { } peer) throw new PipeKeeperException($"{path}: cannot read the peer's credentials: {Errno.Last}");
        if (peer.Uid != euid) throw new PipeKeeperException($"{path}: the socket there belongs to uid {peer.Uid}, not to supd's uid {euid}; refused");
    }

    /// <summary>LIST: every pipe the holder holds, as FD messages up to <c>END pid</c>; returns the holder's pid.</summary>
    private static unsafe int List(int socket, string path, TimeSpan timeout, Dictionary<string, int> recovered)
    {
        var error = Libc.SendWithFd(socket, Encoding.ASCII.GetBytes(FdHolderProtocol.List), -1);
        if (error != 0) throw new PipeKeeperException($"cannot ask the fd holder at {path} for its pipes: {new Errno(error).Message}");
        var buffer = new byte[Limits.MaxHolderMessageBytes + 1];
        var fds = new List<int>();
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        try
        {
            // Bounded: the holder holds at most MaxKeptPipes; a few ERR lines may come before.
            for (var message = 0; message <= Limits.MaxKeptPipes + 16; message++)
            {
                var left = deadline - Environment.TickCount64;
                var poll = new Libc.PollFd { Fd = socket, Events = Libc.POLLIN };
                if (left <= 0 || Libc.Poll(&poll, 1, (int)Math.Max(left, 0)) == 0)
                    throw new PipeKeeperException($"the fd holder at {path} did not answer LIST within {timeout.TotalSeconds:0} s");
                fds.Clear();
                var length = Libc.ReceiveWithFds(socket, buffer, fds, out var truncated, Libc.MSG_DONTWAIT);
                if (length == -Errno.EAGAIN || length == -Errno.EINTR) continue;
                if (length <= 0) throw new PipeKeeperException($"the fd holder at {path} closed the connection during LIST");
                var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(length, Limits.MaxHolderMessageBytes));
                if (text.StartsWith(FdHolderProtocol.End + " ", StringComparison.Ordinal))
                    return int.TryParse(text.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1
                        ? pid
                        : throw new PipeKeeperException($"the fd holder at {path} answered LIST with {PipeKeeper.Quote(text)}");
                var name = text.StartsWith(FdHolderProtocol.Fd + " ", StringComparison.Ordinal) ? text[3..] : null;
                if (truncated || fds.Count != 1 || !PipeKeeper.IsValidName(name) || recovered.ContainsKey(name!))
                {
                    foreach (var fd in fds) Libc.Close(fd);
                    continue;
                }
                recovered[name!] = fds[0];
                fds.Clear();
            }
            throw new PipeKeeperException($"the fd holder at {path} sent more than {Limits.MaxKeptPipes} pipes");
        }
        catch
        {
            foreach (var fd in fds) Libc.Close(fd);
            foreach (var fd in recovered.Values) Libc.Close(fd);
            recovered.Clear();
            throw;
        }
    }

    /// <summary>
    /// Binds and listens at <paramref name="path"/> (0600) and spawns the holder with that socket as its fd 3, in a
    /// session of its own, stdio on /dev/null, every signal at its default and none blocked. Not tracked as a job:
    /// supd's reaper sweeps it up if it exits while supd runs.
    /// </summary>
    private static unsafe void StartHolder(string path, FdHolderOptions options)
    {
        Libc.UnixAddress(path, out var address, out var addressLength);
        var listen = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0);
        if (listen < 0) throw new PipeKeeperException($"cannot create the fd holder's socket: {Errno.Last}");
        // adddup2(3, 3) would leave close-on-exec set on some libcs: keep the listening fd off 3.
        if (listen == FdHolder.ListenFd)
        {
            var moved = Libc.DupCloseOnExec(listen, FdHolder.ListenFd + 1);
            Libc.Close(listen);
            if (moved < 0) throw new PipeKeeperException($"cannot create the fd holder's socket: {Errno.Last}");
            listen = moved;
        }
        try
        {
            if (Libc.Bind(listen, &address, addressLength) != 0) throw new PipeKeeperException($"cannot bind {path}: {Errno.Last}");
            // The directory is supd's own (CheckPath); 0600 is defence in depth, SO_PEERCRED the check.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (Libc.Listen(listen, 16) != 0) throw new PipeKeeperException($"cannot listen on {path}: {Errno.Last}");
            Spawn(listen, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            UnlinkSocketFile(path);
            throw new PipeKeeperException($"cannot set up {path}: {e.Message}");
        }
        catch
        {
            UnlinkSocketFile(path);
            throw;
        }
        finally
        {
            Libc.Close(listen);
        }
    }

    private static unsafe void Spawn(int listen, FdHolderOptions options)
    {
        var command = options.Command ?? ExecHelper.DefaultCommand();
        var argv = new List<string>(command) { FdHolder.Flag };
        if (options.SweepInterval != FdHolder.DefaultSweepInterval)
            argv.AddRange([FdHolder.SweepOption, ((long)options.SweepInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]);
        // Its own session (supd's process group and terminal signals never reach it), quiet, the socket as its fd 3.
        var rc = HelperProcess.Spawn(argv, HolderEnvironment(), listen, FdHolder.ListenFd, quiet: true, out _);
        if (rc != 0) throw new PipeKeeperException($"cannot start the fd holder {command[0]}: {new Errno(rc).Message}");
    }

    /// <summary>A small environment: PATH and what the .NET host needs to find its runtime; nothing of supd's systemd.</summary>
    private static List<string> HolderEnvironment()
    {
        var environment = new List<string> { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_TieredPGO=0" };
        foreach (var name in new[] { "DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_ARM64" })
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value) environment.Add($"{name}={value}");
        return environment;
    }
}
