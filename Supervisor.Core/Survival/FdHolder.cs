using System.Diagnostics;
using System.Globalization;
using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Survival;

/// <summary>
/// The fd holder, a small process of supd's own (<c>supd-exec --fd-holder</c>, or <c>supd --fd-holder</c>) that holds
/// the read ends of job output pipes so they outlive a crash of supd. supd binds and listens on its socket and
/// passes it as fd 3; the holder runs in a session of its own, so neither supd's process-group kill nor a Ctrl-C in
/// supd's terminal reaches it, and after a crash of supd it is re-parented and lives on.
/// </summary>
/// <remarks>
/// One thread, one poll loop over the listening socket and at most one client: a newer connection replaces the
/// older (the newest supd wins), and only a peer with the holder's own uid, or root, is accepted (SO_PEERCRED).
/// Each message is one SEQPACKET datagram of text, at most <see cref="Limits.MaxHolderMessageBytes"/> bytes:
/// <list type="bullet">
/// <item><c>KEEP name</c> with one pipe fd in SCM_RIGHTS: hold it (a name held already is replaced);</item>
/// <item><c>FORGET name</c>: close it;</item>
/// <item><c>LIST</c>: one <c>FD name</c> with the fd per pipe held (still held), then <c>END pid</c> (the holder's
/// pid: SO_PEERCRED names the process that listened, the supd that started the holder);</item>
/// <item><c>RELEASE</c>: close everything and exit 0.</item>
/// </list>
/// Anything else, a name that is not <c>[A-Za-z0-9._-]{1,64}</c>, a KEEP without exactly one pipe, or more than
/// <see cref="Limits.MaxKeptPipes"/> pipes, is answered <c>ERR reason</c> and ignored (fds that came with it closed).
/// With no client, every sweep interval (10 s) the pipes that are hung up and empty (POLLHUP without POLLIN: the job
/// is gone and left nothing unread) are closed; a pipe with data stays until a supd takes it. The holder exits when
/// it has held nothing, with no client, for a whole interval, so it never outlives its supd for good.
/// </remarks>
public static class FdHolder
{
    public const string Flag = "--fd-holder";

    /// <summary>The option that sets the sweep interval in milliseconds (tests shorten it).</summary>
    internal const string SweepOption = "--sweep-ms";

    /// <summary>The fd the listening socket arrives on.</summary>
    internal const int ListenFd = 3;

    public static readonly TimeSpan DefaultSweepInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long one send to a client may take before that client is dropped.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The holder's main: returns its exit status (0 after RELEASE or when idle, 2 when misused).</summary>
    public static int Run(string[] args)
    {
        var sweep = DefaultSweepInterval;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == SweepOption && i + 1 < args.Length &&
                int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0)
                sweep = TimeSpan.FromMilliseconds(ms);
            else
            {
                Console.Error.WriteLine($"supd: {Flag}: unknown argument {args[i]}");
                return 2;
            }
        }
        if (Libc.FileType(ListenFd) != Libc.S_IFSOCK)
        {
            Console.Error.WriteLine($"supd: {Flag} is started by supd only, with its listening socket as fd {ListenFd}");
            return 2;
        }
        Libc.SetCloseOnExec(ListenFd, true);
        RaiseFileLimit();
        return new Loop(sweep).Run();
    }

    private static unsafe void RaiseFileLimit()
    {
        Libc.RLimit limit;
        if (Libc.GetRLimit(Libc.RLIMIT_NOFILE, &limit) != 0 || limit.Current >= limit.Maximum) return;
        limit.Current = limit.Maximum;
        Libc.SetRLimit(Libc.RLIMIT_NOFILE, &limit);
    }

    private sealed class Loop(TimeSpan sweepInterval)
    {
        private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
        private readonly uint _euid = Libc.GetEuid();
        private readonly byte[] _buffer = new byte[Limits.MaxHolderMessageBytes + 1];
        private readonly List<int> _fds = [];
        private int _client = -1;
        private long _idleSince = Stopwatch.GetTimestamp();
        private long _nextSweep = Stopwatch.GetTimestamp() + (long)(sweepInterval.TotalSeconds * Stopwatch.Frequency);

        public unsafe int Run()
        {
            var polls = stackalloc Libc.PollFd[2];
            while (true)
            {
                polls[0] = new Libc.PollFd { Fd = ListenFd, Events = Libc.POLLIN };
                polls[1] = new Libc.PollFd { Fd = _client, Events = Libc.POLLIN };
                var timeout = _client >= 0 ? -1 : (int)Math.Clamp(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _nextSweep).TotalMilliseconds + 1, 0, int.MaxValue);
                var ready = Libc.Poll(polls, _client >= 0 ? 2u : 1u, timeout);
                if (ready < 0 && Errno.Last.Value != Errno.EINTR) return 1;
                if (ready > 0 && (polls[0].REvents & (Libc.POLLERR | Libc.POLLNVAL)) != 0) return 1;
                // The client's messages first: a newer connection must not overtake what the older one sent.
                if (ready > 0 && _client >= 0 && polls[1].REvents != 0 && Receive(out _) is { } exit) return exit;
                if (ready > 0 && (polls[0].REvents & Libc.POLLIN) != 0 && Accept() is { } done) return done;
                if (_client < 0 && Stopwatch.GetTimestamp() >= _nextSweep)
                {
                    Sweep();
                    _nextSweep = Stopwatch.GetTimestamp() + (long)(sweepInterval.TotalSeconds * Stopwatch.Frequency);
                    if (_held.Count == 0 && Stopwatch.GetElapsedTime(_idleSince) >= sweepInterval) return 0;
                }
            }
        }

        /// <summary>Takes a new client in place of the old one; an exit status if the old one's last words said RELEASE.</summary>
        private unsafe int? Accept()
        {
            var fd = Libc.Accept4(ListenFd, null, null, Libc.SOCK_CLOEXEC);
            if (fd < 0)
            {
                // Out of fds the connection stays pending and poll says so again at once: pause rather than spin.
                if (Errno.Last.IsTransient) Thread.Sleep(100);
                return null;
            }
            if (Libc.PeerCredentials(fd) is not { } peer || (peer.Uid != _euid && peer.Uid != 0))
            {
                Libc.Close(fd);
                return null;
            }
            // What the old client sent is in its socket's queue (a killed supd's last KEEPs too): handle all of it
            // before letting it go, so a restarted supd's LIST sees every pipe its predecessor sent.
            while (_client >= 0)
            {
                if (Receive(out var more) is { } exit)
                {
                    Libc.Close(fd);
                    return exit;
                }
                if (!more) break;
            }
            DropClient();
            _client = fd;
            Libc.SetSocketTimeouts(fd, ClientTimeout);
            return null;
        }

        private void DropClient()
        {
            if (_client < 0) return;
            Libc.Close(_client);
            _client = -1;
            _idleSince = Stopwatch.GetTimestamp();
            _nextSweep = Stopwatch.GetTimestamp() + (long)(sweepInterval.TotalSeconds * Stopwatch.Frequency);
        }

        /// <summary>
        /// Handles one message; an exit status when the holder is done. <paramref name="more"/>: a message was
        /// handled and the client is still there (another may be waiting).
        /// </summary>
        private int? Receive(out bool more)
        {
            more = false;
            _fds.Clear();
            var length = Libc.ReceiveWithFds(_client, _buffer, _fds, out var truncated, Libc.MSG_DONTWAIT);
            if (length == -Errno.EAGAIN || length == -Errno.EINTR) return null;
            if (length <= 0)
            {
                CloseAll(_fds);
                DropClient();
                return null;
            }
            more = true;
            try
            {
                if (truncated || length > Limits.MaxHolderMessageBytes)
                    return Reply($"ERR message longer than {Limits.MaxHolderMessageBytes} bytes");
                var text = Encoding.UTF8.GetString(_buffer, 0, length);
                var space = text.IndexOf(' ');
                var verb = space < 0 ? text : text[..space];
                var name = space < 0 ? null : text[(space + 1)..];
                switch (verb)
                {
                    case FdHolderProtocol.Keep:
                        return Keep(name);
                    case FdHolderProtocol.Forget when PipeKeeper.IsValidName(name):
                        if (_held.Remove(name!, out var old)) Libc.Close(old);
                        return null;
                    case FdHolderProtocol.List when name is null:
                        foreach (var (held, fd) in _held)
                            if (Send(Encoding.UTF8.GetBytes($"{FdHolderProtocol.Fd} {held}"), fd) != 0) return null;
                        return Reply($"{FdHolderProtocol.End} {Environment.ProcessId}");
                    case FdHolderProtocol.Release when name is null:
                        foreach (var fd in _held.Values) Libc.Close(fd);
                        _held.Clear();
                        DropClient();
                        return 0;
                    default:
                        return Reply($"ERR malformed message: {PipeKeeper.Quote(text.Length > 80 ? text[..80] : text)}");
                }
            }
            finally
            {
                CloseAll(_fds);
            }
        }

        private int? Keep(string? name)
        {
            if (!PipeKeeper.IsValidName(name)) return Reply($"ERR KEEP: not a valid name: {PipeKeeper.Quote(name)}");
            if (_fds.Count != 1) return Reply($"ERR KEEP {name}: {_fds.Count} fds came with it, not one");
            if (Libc.FileType(_fds[0]) != Libc.S_IFIFO) return Reply($"ERR KEEP {name}: not a pipe");
            if (_held.Remove(name!, out var old)) Libc.Close(old);
            else if (_held.Count >= Limits.MaxKeptPipes) return Reply($"ERR KEEP {name}: {Limits.MaxKeptPipes} pipes held already");
            _held[name!] = _fds[0];
            _fds.Clear(); // held now, not closed with the message
            return null;
        }

        private int? Reply(string text)
        {
            Send(Encoding.UTF8.GetBytes(text), -1);
            return null;
        }

        private int Send(byte[] message, int fd)
        {
            var error = Libc.SendWithFd(_client, message, fd);
            if (error != 0) DropClient(); // gone, or not reading within the timeout: the newest supd reconnects
            return error;
        }

        /// <summary>Closes the pipes that are hung up and empty: their job is gone and left nothing to read.</summary>
        private unsafe void Sweep()
        {
            if (_held.Count == 0) return;
            var entries = _held.ToArray();
            var polls = new Libc.PollFd[entries.Length];
            for (var i = 0; i < entries.Length; i++) polls[i] = new Libc.PollFd { Fd = entries[i].Value, Events = Libc.POLLIN };
            fixed (Libc.PollFd* first = polls)
                if (Libc.Poll(first, (nuint)polls.Length, 0) < 0) return;
            for (var i = 0; i < entries.Length; i++)
            {
                var events = polls[i].REvents;
                var gone = (events & Libc.POLLNVAL) != 0 || ((events & Libc.POLLHUP) != 0 && (events & Libc.POLLIN) == 0);
                if (!gone) continue;
                Libc.Close(entries[i].Value);
                _held.Remove(entries[i].Key);
            }
        }

        private static void CloseAll(List<int> fds)
        {
            foreach (var fd in fds) Libc.Close(fd);
            fds.Clear();
        }
    }
}

/// <summary>The words of the fd holder's protocol (<see cref="FdHolder"/>).</summary>
internal static class FdHolderProtocol
{
    public const string Keep = "KEEP", Forget = "FORGET", List = "LIST", Release = "RELEASE", Fd = "FD", End = "END", Error = "ERR";
}
