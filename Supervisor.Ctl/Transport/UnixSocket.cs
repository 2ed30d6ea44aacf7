using System.Runtime.InteropServices;
using System.Text;

namespace Supervisor.Ctl.Transport;

/// <summary>
/// A connected AF_UNIX stream socket on plain system calls, read and written with blocking calls on the caller's
/// thread. Not <see cref="System.Net.Sockets.Socket"/>: its first use starts the runtime's socket engine (an epoll
/// thread the caller waits for, spinning, until it runs) and probes for IPv4 and IPv6 with three more sockets; on a
/// saturated machine a thread that must be scheduled before the call can go on is what a short-lived supctl can least
/// afford (docs/BENCHMARKS.md, C4).
/// </summary>
internal sealed partial class UnixSocket : IDisposable
{
    private const int AfUnix = 1, SockStream = 1, SockCloexec = 0x80000;
    private const int SolSocket = 1, SoRcvtimeo = 20;
    private const int MsgNosignal = 0x4000;
    private const int ShutRdwr = 2;
    private const int Eintr = 4, Eagain = 11;
    /// <summary>sun_path's size, its terminating NUL included.</summary>
    private const int MaxPathBytes = 108;

    private readonly Descriptor _fd;

    private UnixSocket(Descriptor fd) => _fd = fd;

    /// <summary>Connects to <paramref name="path"/>; a failure is a <see cref="UnixSocketException"/> with its errno.</summary>
    public static UnixSocket Connect(string path)
    {
        // struct sockaddr_un: sa_family_t (2 bytes), then the path, NUL-terminated.
        var pathBytes = Encoding.UTF8.GetBytes(path);
        if (pathBytes.Length >= MaxPathBytes)
            throw new UnixSocketException(36 /* ENAMETOOLONG */, "the socket path is too long for a Unix socket (at most 107 bytes)");
        if (pathBytes.Contains((byte)0)) throw new UnixSocketException(22 /* EINVAL */, "the socket path holds a NUL byte");
        Span<byte> address = stackalloc byte[2 + MaxPathBytes];
        address.Clear();
        BitConverter.TryWriteBytes(address, (ushort)AfUnix);
        pathBytes.CopyTo(address[2..]);

        var fd = new Descriptor(Check(socket(AfUnix, SockStream | SockCloexec, 0)));
        try
        {
            // connect(2) is restarted after a signal handler that has SA_RESTART (the runtime's have).
            Check(connect(fd.Value, address, 2 + pathBytes.Length + 1));
            return new UnixSocket(fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>A receive waits at most this long, then fails with EAGAIN (<see cref="UnixSocketException.TimedOut"/>).</summary>
    public void SetReceiveTimeout(TimeSpan timeout)
    {
        Span<long> timeval = [(long)timeout.TotalSeconds, timeout.Microseconds + timeout.Milliseconds * 1000L];
        using var held = _fd.Hold();
        Check(setsockopt(_fd.Value, SolSocket, SoRcvtimeo, MemoryMarshal.AsBytes(timeval), 16));
    }

    /// <summary>Reads what is there (at least a byte); 0 at the end of the stream.</summary>
    public int Receive(Span<byte> buffer)
    {
        using var held = _fd.Hold();
        while (true)
        {
            var n = recv(_fd.Value, buffer, buffer.Length, 0);
            if (n >= 0) return (int)n;
            // A receive with a timeout is not restarted after a signal handler (signal(7)); ask again.
            if (Marshal.GetLastPInvokeError() != Eintr) throw LastError();
        }
    }

    /// <summary>Writes some of <paramref name="bytes"/>; how many. MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE.</summary>
    public int Send(ReadOnlySpan<byte> bytes)
    {
        using var held = _fd.Hold();
        while (true)
        {
            var n = send(_fd.Value, bytes, bytes.Length, MsgNosignal);
            if (n >= 0) return (int)n;
            if (Marshal.GetLastPInvokeError() != Eintr) throw LastError();
        }
    }

    /// <summary>Ends both directions: a receive blocked in another thread returns 0. Safe after <see cref="Dispose"/>.</summary>
    public void Shutdown()
    {
        if (!_fd.TryHold(out var held)) return;
        using (held) shutdown(_fd.Value, ShutRdwr);
    }

    public void Dispose() => _fd.Dispose();

    private static int Check(int result) => result >= 0 ? result : throw LastError();

    private static UnixSocketException LastError()
    {
        var errno = Marshal.GetLastPInvokeError();
        return new UnixSocketException(errno, Marshal.GetPInvokeErrorMessage(errno));
    }

    /// <summary>A failed socket call: its errno and strerror's text.</summary>
    internal sealed class UnixSocketException(int errno, string message) : IOException(message)
    {
        public int Errno { get; } = errno;
        public bool TimedOut => Errno == Eagain;
        public bool AccessDenied => Errno is 13 /* EACCES */ or 1 /* EPERM */;
        public bool Refused => Errno == 111; // ECONNREFUSED
    }

    /// <summary>The fd, closed once whatever holds it (a receive, a Ctrl-C's shutdown) has let go.</summary>
    private sealed class Descriptor : SafeHandle
    {
        public Descriptor(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

        public int Value => (int)handle;
        public override bool IsInvalid => handle == -1;

        public Hold Hold()
        {
            var added = false;
            DangerousAddRef(ref added);
            return new Hold(this);
        }

        public bool TryHold(out Hold held)
        {
            try
            {
                held = Hold();
                return true;
            }
            catch (ObjectDisposedException)
            {
                held = default;
                return false;
            }
        }

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }

    private readonly struct Hold(SafeHandle handle) : IDisposable
    {
        public void Dispose() => handle?.DangerousRelease();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int connect(int fd, ReadOnlySpan<byte> address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ReadOnlySpan<byte> value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, Span<byte> buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, ReadOnlySpan<byte> buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
