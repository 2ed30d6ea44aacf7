using System.Text;
using NUnit.Framework;
using Supervisor.Core.Interop;

namespace Supervisor.Tests.Core.Survival;

/// <summary>SCM_RIGHTS through the interop the pipe keepers use: real sockets, real pipes.</summary>
[TestFixture]
public sealed class FdPassingTests
{
    private RealFds _fds = null!;

    [SetUp]
    public void SetUp() => _fds = new RealFds();

    [TearDown]
    public void TearDown() => _fds.Dispose();

    [Test]
    public void A_pipe_sent_over_a_socketpair_arrives_as_an_fd_that_reads_what_was_written_into_the_original()
    {
        var (a, b) = _fds.SocketPair(Libc.SOCK_SEQPACKET);
        var (read, write) = _fds.Pipe();
        Assert.That(Libc.SendWithFd(a, "KEEP web"u8, read), Is.EqualTo(0));
        _fds.Close(read); // the sender's copy goes; the receiver's stays

        var received = new List<int>();
        Assert.That(_fds.Receive(b, received), Is.EqualTo("KEEP web"));
        Assert.That(received, Has.Count.EqualTo(1));
        Assert.That(Libc.Fcntl(received[0], Libc.F_GETFD, 0) & Libc.FD_CLOEXEC, Is.EqualTo(Libc.FD_CLOEXEC), "close-on-exec set on receipt");
        Assert.That(Libc.FileType(received[0]), Is.EqualTo(Libc.S_IFIFO));

        RealFds.WriteAll(write, Encoding.ASCII.GetBytes("line one\nline two\n"));
        _fds.Close(write);
        Assert.That(Encoding.ASCII.GetString(RealFds.ReadToEnd(received[0])), Is.EqualTo("line one\nline two\n"));
    }

    [Test]
    public void A_message_without_an_fd_carries_none_and_a_longer_message_than_the_buffer_is_marked_truncated()
    {
        var (a, b) = _fds.SocketPair(Libc.SOCK_SEQPACKET);
        Assert.That(Libc.SendWithFd(a, new byte[600], -1), Is.EqualTo(0));
        var fds = new List<int>();
        var length = Libc.ReceiveWithFds(b, new byte[513], fds, out var truncated, Libc.MSG_DONTWAIT);
        Assert.That((length, truncated, fds.Count), Is.EqualTo((513, true, 0)));
    }

    [Test]
    public void Socket_addresses_are_bounded_by_sun_path_and_an_at_sign_names_the_abstract_namespace()
    {
        Assert.That(Libc.UnixAddress("/run/supd/fdholder.sock", out _, out var length), Is.True);
        Assert.That(length, Is.EqualTo(2 + 23 + 1));
        Assert.That(Libc.UnixAddress("/" + new string('a', 106), out _, out _), Is.True, "107 bytes and the NUL fit");
        Assert.That(Libc.UnixAddress("/" + new string('a', 107), out _, out _), Is.False);
        Assert.That(Libc.UnixAddress("@notify", out var address, out length), Is.True);
        unsafe
        {
            Assert.That(address.Path[0], Is.EqualTo(0));
            Assert.That((char)address.Path[1], Is.EqualTo('n'));
        }
        Assert.That(length, Is.EqualTo(2 + 7), "no NUL after an abstract name");
        Assert.That(Libc.CmsgSpace(sizeof(int)), Is.EqualTo(24));
        Assert.That(Libc.CmsgLength(sizeof(int)), Is.EqualTo(20));
    }
}
