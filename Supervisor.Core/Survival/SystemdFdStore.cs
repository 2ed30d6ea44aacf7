using System.Text;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Survival;

/// <summary>
/// systemd's file descriptor store (sd_pid_notify_with_fds(3), systemd.service(5) <c>FileDescriptorStoreMax=</c>):
/// Keep sends <c>FDSTORE=1</c>, <c>FDNAME=</c> and <c>FDPOLL=0</c> with the fd in SCM_RIGHTS to <c>NOTIFY_SOCKET</c>;
/// Forget sends <c>FDSTOREREMOVE=1</c> with the name. The next start of the unit gets the stored fds as
/// <c>LISTEN_FDS</c> (<see cref="ListenFds"/>). FDPOLL=0 because systemd otherwise drops a stored fd at POLLHUP, and a
/// pipe whose job has exited hangs up with its last output still unread. systemd keeps a second fd under a name it
/// already holds, so every Keep removes that name first (as systemd's own notify_push_fd does): an image after a
/// re-exec does not know what the one before stored.
/// systemd takes the messages only from the unit's main process (NotifyAccess=) and only while
/// <c>FileDescriptorStoreMax=</c> has room; it says nothing back, so a refusal there is not seen here.
/// </summary>
public sealed class SystemdFdStore : QueuedPipeKeeper
{
    private readonly int _socket;
    private readonly Libc.SockAddrUn _address;
    private readonly uint _addressLength;
    private readonly string _notifySocket;
    private readonly HashSet<string> _kept; // the sender thread's

    private SystemdFdStore(string notifySocket, int socket, Libc.SockAddrUn address, uint addressLength,
        Dictionary<string, int> recovered, ILogger log) : base(log, recovered)
    {
        _notifySocket = notifySocket;
        _socket = socket;
        _address = address;
        _addressLength = addressLength;
        _kept = new HashSet<string>(recovered.Keys, StringComparer.Ordinal);
    }

    public override string Description => "systemd's file descriptor store";

    /// <summary>The store at <paramref name="notifySocket"/>, with the pipes systemd passed at this start.</summary>
    internal static IPipeKeeper FromEnvironment(string notifySocket, ILogger log) =>
        Create(notifySocket, ListenFds.TakeFromEnvironment(log), log);

    internal static IPipeKeeper Create(string notifySocket, Dictionary<string, int> recovered, ILogger log)
    {
        if (!Libc.UnixAddress(notifySocket, out var address, out var length))
        {
            foreach (var fd in recovered.Values) Libc.Close(fd);
            return new NullPipeKeeper($"NOTIFY_SOCKET {PipeKeeper.Quote(notifySocket)} is not a socket address");
        }
        var socket = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            var error = Errno.Last;
            foreach (var fd in recovered.Values) Libc.Close(fd);
            return new NullPipeKeeper($"cannot create a socket for systemd's fd store: {error}");
        }
        var store = new SystemdFdStore(notifySocket, socket, address, length, recovered, log);
        store.Start();
        return store;
    }

    protected override void SendKeep(string name, int fd)
    {
        // Always: the name may be stored already without this image knowing it (kept before a re-exec).
        if (!Notify($"FDSTOREREMOVE=1\nFDNAME={name}", -1, $"keep {name}")) return; // counted once
        if (Notify($"FDSTORE=1\nFDNAME={name}\nFDPOLL=0", fd, $"keep {name}")) _kept.Add(name);
    }

    protected override void SendForget(string name)
    {
        if (Notify($"FDSTOREREMOVE=1\nFDNAME={name}", -1, $"forget {name}")) _kept.Remove(name);
    }

    protected override void SendRelease()
    {
        foreach (var name in _kept) Notify($"FDSTOREREMOVE=1\nFDNAME={name}", -1, $"release {name}");
        _kept.Clear();
    }

    protected override void CloseResources() => Libc.Close(_socket);

    private unsafe bool Notify(string message, int fd, string what)
    {
        var address = _address;
        var error = Libc.SendWithFdTo(_socket, Encoding.UTF8.GetBytes(message), fd, &address, _addressLength);
        if (error == 0) return true;
        Fail(what, $"{_notifySocket}: {new Errno(error).Message}");
        return false;
    }
}
