using System.Runtime.InteropServices;
using System.Text;

namespace Supervisor.Core.Interop;

/// <summary>
/// Unix sockets that carry file descriptors (SCM_RIGHTS): socket, bind, listen, accept4, connect, sendmsg, recvmsg,
/// SO_PEERCRED. The structs are the LP64 layouts, the same on x86_64 and arm64 (cmsg data aligned to 8 bytes).
/// </summary>
internal static unsafe partial class Libc
{
    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000, SOCK_NONBLOCK = 0x800;
    internal const int SOL_SOCKET = 1, SCM_RIGHTS = 1, SO_PEERCRED = 17;
    // SO_RCVTIMEO/SO_SNDTIMEO (the old, struct timeval ones): the same numbers on x86_64 and arm64.
    internal const int SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;
    internal const int MSG_DONTWAIT = 0x40, MSG_TRUNC = 0x20, MSG_CTRUNC = 0x8, MSG_NOSIGNAL = 0x4000,
        MSG_CMSG_CLOEXEC = 0x40000000;
    internal const int F_DUPFD = 0, F_DUPFD_CLOEXEC = 1030;
    internal const int ECONNREFUSED = 111, EPIPE = 32, ECONNRESET = 104, ENOTCONN = 107, ETIMEDOUT = 110;

    /// <summary>sun_path's size: a socket path takes at most 107 bytes and its NUL.</summary>
    internal const int SunPathBytes = 108;

    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrUn
    {
        public ushort Family;
        public fixed byte Path[SunPathBytes];
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    // CMSG_ALIGN, CMSG_LEN, CMSG_SPACE for LP64: headers and data aligned to sizeof(size_t) = 8.
    internal static int CmsgAlign(int length) => (length + 7) & ~7;
    internal static int CmsgLength(int dataBytes) => CmsgAlign(sizeof(CmsgHdr)) + dataBytes;
    internal static int CmsgSpace(int dataBytes) => CmsgAlign(sizeof(CmsgHdr)) + CmsgAlign(dataBytes);

    [LibraryImport(Name, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Name, EntryPoint = "socketpair", SetLastError = true)]
    internal static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Name, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, SockAddrUn* address, uint length);

    [LibraryImport(Name, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(int fd, int backlog);

    [LibraryImport(Name, EntryPoint = "accept4", SetLastError = true)]
    internal static partial int Accept4(int fd, void* address, uint* length, int flags);

    [LibraryImport(Name, EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(int fd, SockAddrUn* address, uint length);

    [LibraryImport(Name, EntryPoint = "sendmsg", SetLastError = true)]
    internal static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Name, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Name, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport(Name, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    /// <summary>
    /// A sockaddr_un for <paramref name="path"/> (a leading '@' names the abstract namespace, as sd_notify spells it)
    /// and its length; false when the path does not fit sun_path.
    /// </summary>
    internal static bool UnixAddress(string path, out SockAddrUn address, out uint length)
    {
        address = default;
        length = 0;
        var bytes = Encoding.UTF8.GetBytes(path);
        var abstractName = bytes.Length > 0 && bytes[0] == (byte)'@';
        // A path needs its NUL; an abstract name has none, its leading NUL replaces the '@'.
        if (bytes.Length == 0 || bytes.Length > (abstractName ? SunPathBytes : SunPathBytes - 1)) return false;
        if (!abstractName && Array.IndexOf(bytes, (byte)0) >= 0) return false;
        address.Family = AF_UNIX;
        fixed (byte* target = address.Path)
        {
            bytes.CopyTo(new Span<byte>(target, SunPathBytes));
            if (abstractName) target[0] = 0;
        }
        length = (uint)(sizeof(ushort) + bytes.Length + (abstractName ? 0 : 1));
        return true;
    }

    /// <summary>
    /// Sends one message with at most one fd in SCM_RIGHTS (none when <paramref name="fd"/> is negative), to the
    /// connected peer or to <paramref name="address"/>. Never raises SIGPIPE. Returns 0, or the errno.
    /// </summary>
    internal static int SendWithFd(int socket, ReadOnlySpan<byte> payload, int fd) => SendWithFdTo(socket, payload, fd, null, 0);

    /// <inheritdoc cref="SendWithFd"/>
    internal static int SendWithFdTo(int socket, ReadOnlySpan<byte> payload, int fd, SockAddrUn* address, uint addressLength,
        int flags = 0) =>
        SendWithFds(socket, payload, fd >= 0 ? [fd] : [], address, addressLength, flags);

    /// <summary>
    /// Sends one message with <paramref name="fds"/> (at most <see cref="MaxFdsPerMessage"/>) in SCM_RIGHTS, to the
    /// connected peer or to <paramref name="address"/>. Never raises SIGPIPE. Returns 0, or the errno.
    /// </summary>
    internal static int SendWithFds(int socket, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, SockAddrUn* address = null,
        uint addressLength = 0, int flags = 0)
    {
        if (fds.Length > MaxFdsPerMessage) return Errno.EINVAL;
        var space = CmsgSpace(MaxFdsPerMessage * sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        fixed (byte* data = payload)
        {
            var iov = new IoVec { Base = data, Length = (nuint)payload.Length };
            var message = new MsgHdr { Name = address, NameLength = addressLength, Iov = &iov, IovLength = 1 };
            if (fds.Length > 0)
            {
                var header = (CmsgHdr*)control;
                header->Length = (nuint)CmsgLength(fds.Length * sizeof(int));
                header->Level = SOL_SOCKET;
                header->Type = SCM_RIGHTS;
                fds.CopyTo(new Span<int>(control + CmsgAlign(sizeof(CmsgHdr)), fds.Length));
                message.Control = control;
                message.ControlLength = (nuint)CmsgSpace(fds.Length * sizeof(int));
            }
            while (true)
            {
                if (SendMsg(socket, &message, flags | MSG_NOSIGNAL) >= 0) return 0;
                var error = Marshal.GetLastPInvokeError();
                if (error != Errno.EINTR) return error;
            }
        }
    }

    /// <summary>Fds that one received message can carry before the rest are discarded (MSG_CTRUNC).</summary>
    internal const int MaxFdsPerMessage = 8;

    /// <summary>
    /// Receives one message into <paramref name="buffer"/> and the fds that came with it (close-on-exec set) into
    /// <paramref name="fds"/>, which the caller then owns. Returns the bytes received (0 at end of stream), or
    /// -errno. <paramref name="truncated"/> is true when the message was longer than the buffer (the rest is lost).
    /// </summary>
    internal static int ReceiveWithFds(int socket, Span<byte> buffer, List<int> fds, out bool truncated, int flags = 0)
    {
        truncated = false;
        var space = CmsgSpace(MaxFdsPerMessage * sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)space };
            nint received;
            while ((received = RecvMsg(socket, &message, flags | MSG_CMSG_CLOEXEC)) < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != Errno.EINTR) return -error;
            }
            truncated = (message.Flags & MSG_TRUNC) != 0;
            // Walk the control messages (CMSG_FIRSTHDR / CMSG_NXTHDR) and take every SCM_RIGHTS fd.
            var offset = 0;
            var controlLength = (int)message.ControlLength;
            while (offset + sizeof(CmsgHdr) <= controlLength)
            {
                var header = (CmsgHdr*)(control + offset);
                var length = (int)header->Length;
                if (length < sizeof(CmsgHdr) || offset + length > controlLength) break;
                if (header->Level == SOL_SOCKET && header->Type == SCM_RIGHTS)
                {
                    var count = (length - CmsgAlign(sizeof(CmsgHdr))) / sizeof(int);
                    var first = (int*)(control + offset + CmsgAlign(sizeof(CmsgHdr)));
                    for (var i = 0; i < count; i++) fds.Add(first[i]);
                }
                offset += CmsgAlign(length);
            }
            return (int)received;
        }
    }

    /// <summary>The peer of a connected Unix socket (SO_PEERCRED), or null when the kernel cannot say.</summary>
    internal static UCred? PeerCredentials(int socket)
    {
        UCred credentials;
        var length = (uint)sizeof(UCred);
        return GetSockOpt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 ? credentials : null;
    }

    /// <summary>Bounds every send or receive on <paramref name="socket"/> (SO_SNDTIMEO and SO_RCVTIMEO).</summary>
    internal static void SetSocketTimeouts(int socket, TimeSpan timeout)
    {
        var value = new TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
        SetSockOpt(socket, SOL_SOCKET, SO_SNDTIMEO, &value, (uint)sizeof(TimeVal));
        SetSockOpt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, (uint)sizeof(TimeVal));
    }

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/> at or above <paramref name="lowest"/>, or -1 (errno set).</summary>
    internal static int DupCloseOnExec(int fd, int lowest = 0) => Fcntl(fd, F_DUPFD_CLOEXEC, lowest);

    /// <summary>The file type bits (S_IFMT) of an open fd, or -1 when it is not open.</summary>
    internal static int FileType(int fd)
    {
        Statx status;
        byte empty = 0;
        return StatX(fd, &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, &status) == 0 ? status.Mode & S_IFMT : -1;
    }
}
