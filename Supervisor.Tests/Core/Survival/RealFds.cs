using System.Text;
using NUnit.Framework;
using Supervisor.Core.Interop;

namespace Supervisor.Tests.Core.Survival;

/// <summary>Real pipes and sockets for the pipe keeper's tests; every fd a test opens it closes through <see cref="Owned"/>.</summary>
internal sealed unsafe class RealFds : IDisposable
{
    private readonly HashSet<int> _open = [];

    /// <summary>A pipe (both ends close-on-exec), owned.</summary>
    public (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.That(Libc.Pipe2(fds, Libc.O_CLOEXEC), Is.EqualTo(0), $"pipe2: {Errno.Last}");
        return (Owned(fds[0]), Owned(fds[1]));
    }

    public (int A, int B) SocketPair(int type)
    {
        int* fds = stackalloc int[2];
        Assert.That(Libc.SocketPair(Libc.AF_UNIX, type | Libc.SOCK_CLOEXEC, 0, fds), Is.EqualTo(0), $"socketpair: {Errno.Last}");
        return (Owned(fds[0]), Owned(fds[1]));
    }

    /// <summary>A datagram socket bound at <paramref name="address"/> (a path, or @abstract): a fake NOTIFY_SOCKET.</summary>
    public int BoundDatagram(string address)
    {
        var fd = Owned(Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0));
        Assert.That(Libc.UnixAddress(address, out var sockaddr, out var length), Is.True);
        Assert.That(Libc.Bind(fd, &sockaddr, length), Is.EqualTo(0), $"bind {address}: {Errno.Last}");
        return fd;
    }

    /// <summary>A SEQPACKET socket connected to <paramref name="path"/>, or the errno.</summary>
    public (int Fd, int Error) ConnectSeqpacket(string path)
    {
        var fd = Owned(Libc.Socket(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0));
        Libc.UnixAddress(path, out var sockaddr, out var length);
        return Libc.Connect(fd, &sockaddr, length) == 0 ? (fd, 0) : (fd, Errno.Last.Value);
    }

    /// <summary>Takes <paramref name="fd"/> into the set closed at the end (a negative one fails the test).</summary>
    public int Owned(int fd)
    {
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), $"an fd: {Errno.Last}");
        _open.Add(fd);
        return fd;
    }

    public void Close(int fd)
    {
        if (_open.Remove(fd)) Libc.Close(fd);
    }

    public static void WriteAll(int fd, byte[] bytes)
    {
        fixed (byte* data = bytes)
            for (var done = 0; done < bytes.Length;)
            {
                var n = Libc.Write(fd, data + done, (nuint)(bytes.Length - done));
                Assert.That((long)n, Is.GreaterThan(0L), $"write: {Errno.Last}");
                done += (int)n;
            }
    }

    /// <summary>Reads to end of file (every write end must be closed).</summary>
    public static byte[] ReadToEnd(int fd)
    {
        var result = new MemoryStream();
        var buffer = new byte[8192];
        fixed (byte* data = buffer)
            while (true)
            {
                var n = Libc.Read(fd, data, (nuint)buffer.Length);
                Assert.That((long)n, Is.GreaterThanOrEqualTo(0L), $"read: {Errno.Last}");
                if (n == 0) return result.ToArray();
                result.Write(buffer, 0, (int)n);
            }
    }

    /// <summary>One message (and the fds with it, owned) as text; null when none is waiting.</summary>
    public string? Receive(int socket, List<int>? fds = null)
    {
        var buffer = new byte[4096];
        var received = new List<int>();
        var length = Libc.ReceiveWithFds(socket, buffer, received, out _, Libc.MSG_DONTWAIT);
        foreach (var fd in received) Owned(fd);
        fds?.AddRange(received);
        if (length == -Errno.EAGAIN) return null;
        Assert.That(length, Is.GreaterThanOrEqualTo(0), $"recvmsg: {new Errno(-length)}");
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>The pipe's identity, "pipe:[INODE]", as /proc shows it.</summary>
    public static string Identity(int fd) => new FileInfo($"/proc/self/fd/{fd}").LinkTarget!;

    public void Dispose()
    {
        foreach (var fd in _open) Libc.Close(fd);
        _open.Clear();
    }
}
