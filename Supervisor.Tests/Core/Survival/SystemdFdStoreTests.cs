using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Interop;
using Supervisor.Core.Survival;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Survival;

/// <summary>systemd's fd store against a fake NOTIFY_SOCKET that the test reads, and LISTEN_FDS at start.</summary>
[TestFixture]
[NonParallelizable] // sets NOTIFY_SOCKET for the factory's tests
public sealed class SystemdFdStoreTests
{
    private RealFds _fds = null!;
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _fds = new RealFds();
        _dir = Directory.CreateTempSubdirectory("supd-fdstore-");
    }

    [TearDown]
    public void TearDown()
    {
        _fds.Dispose();
        _dir.Delete(recursive: true);
    }

    private (IPipeKeeper Store, int Notify) Store(string? address = null)
    {
        address ??= Path.Combine(_dir.FullName, "notify");
        var notify = _fds.BoundDatagram(address);
        var store = SystemdFdStore.Create(address, [], NullLogger.Instance);
        Assert.That(store.IsActive, Is.True, store.Description);
        return (store, notify);
    }

    private async Task<string> NextDatagramAsync(int notify, List<int>? fds = null)
    {
        string? message = null;
        await Eventually.TrueAsync(() => (message = _fds.Receive(notify, fds)) is not null, "a datagram on the fake NOTIFY_SOCKET");
        return message!;
    }

    [TestCase(null)]
    [TestCase("@abstract")]
    public async Task Keep_stores_the_pipe_under_its_name_and_forget_removes_it(string? abstractName)
    {
        var (store, notify) = Store(abstractName is null ? null : abstractName + Environment.ProcessId);
        using var _ = store;
        var (read, write) = _fds.Pipe();
        store.Keep("web.1.out", read);
        _fds.Close(read); // the caller may close its fd right after Keep

        var fds = new List<int>();
        Assert.That(await NextDatagramAsync(notify, fds), Is.EqualTo("FDSTOREREMOVE=1\nFDNAME=web.1.out"), "any old one of the name first");
        Assert.That(fds, Is.Empty);
        Assert.That(await NextDatagramAsync(notify, fds), Is.EqualTo("FDSTORE=1\nFDNAME=web.1.out\nFDPOLL=0"));
        Assert.That(fds, Has.Count.EqualTo(1), "the pipe in SCM_RIGHTS");
        RealFds.WriteAll(write, "hello from web\n"u8.ToArray());
        _fds.Close(write);
        Assert.That(Encoding.ASCII.GetString(RealFds.ReadToEnd(fds[0])), Is.EqualTo("hello from web\n"), "the same pipe");

        store.Forget("web.1.out");
        Assert.That(await NextDatagramAsync(notify), Is.EqualTo("FDSTOREREMOVE=1\nFDNAME=web.1.out"));
        Assert.That(store.Failures, Is.Zero);
    }

    [Test]
    public async Task Every_keep_removes_its_name_first_and_release_removes_every_name_kept()
    {
        var (store, notify) = Store();
        using var _ = store;
        var (a, _) = _fds.Pipe();
        var (b, _) = _fds.Pipe();
        store.Keep("a", a);
        store.Keep("b", b);
        store.Keep("a", b);
        store.Release();
        var messages = new List<string>();
        for (var i = 0; i < 8; i++) messages.Add(await NextDatagramAsync(notify));
        Assert.That(messages.Take(6), Is.EqualTo(new[]
        {
            "FDSTOREREMOVE=1\nFDNAME=a", "FDSTORE=1\nFDNAME=a\nFDPOLL=0",
            "FDSTOREREMOVE=1\nFDNAME=b", "FDSTORE=1\nFDNAME=b\nFDPOLL=0",
            "FDSTOREREMOVE=1\nFDNAME=a", "FDSTORE=1\nFDNAME=a\nFDPOLL=0",
        }));
        Assert.That(messages.Skip(6), Is.EquivalentTo(new[] { "FDSTOREREMOVE=1\nFDNAME=a", "FDSTOREREMOVE=1\nFDNAME=b" }), "release");
        Assert.That(_fds.Receive(notify), Is.Null, "nothing more");
    }

    [Test]
    public void The_three_listen_variables_are_recognised_for_a_re_exec_to_leave_out()
    {
        Assert.That(ListenFds.IsListenVariable("LISTEN_PID=12"), Is.True);
        Assert.That(ListenFds.IsListenVariable("LISTEN_FDS=2"), Is.True);
        Assert.That(ListenFds.IsListenVariable("LISTEN_FDNAMES=a:b"), Is.True);
        Assert.That(ListenFds.IsListenVariable("LISTEN_FDSX=1"), Is.False);
        Assert.That(ListenFds.IsListenVariable("PATH=/bin"), Is.False);
    }

    [TestCase("")]
    [TestCase("web 1")]
    [TestCase("web/1")]
    [TestCase("web:1")]
    [TestCase("wéb")]
    [TestCase("a\nFDSTOREREMOVE=1")]
    public void A_name_outside_the_rule_is_refused_counted_and_never_sent(string name)
    {
        var (store, notify) = Store();
        var (read, _) = _fds.Pipe();
        store.Keep(name, read);
        store.Forget(name);
        store.Detach();
        Assert.That(store.Failures, Is.EqualTo(2));
        Assert.That(_fds.Receive(notify), Is.Null);
        store.Dispose();
    }

    [Test]
    public void Names_are_at_most_64_characters_of_letters_digits_dot_underscore_dash()
    {
        Assert.That(PipeKeeper.IsValidName(new string('a', PipeKeeper.MaxNameLength)), Is.True);
        Assert.That(PipeKeeper.IsValidName(new string('a', PipeKeeper.MaxNameLength + 1)), Is.False);
        Assert.That(PipeKeeper.IsValidName("web@1.out-2_x"), Is.False);
        Assert.That(PipeKeeper.IsValidName("web.1.out-2_X"), Is.True);
        var (store, _) = Store();
        var (read, _) = _fds.Pipe();
        store.Keep(new string('a', 65), read);
        Assert.That(store.Failures, Is.EqualTo(1));
        store.Dispose();
    }

    [Test]
    public void Listen_fds_passed_to_this_pid_come_back_by_name_and_what_is_not_a_named_pipe_is_closed()
    {
        // Real fds dup'd to high numbers standing in for systemd's 3, 4, 5…: a pipe, a socket, a pipe with a bad
        // name, two pipes with one name, and one past the names given ("unknown").
        var start = FreeRun(7);
        var (pipe1, _) = _fds.Pipe();
        var (socket, _) = _fds.SocketPair(Libc.SOCK_STREAM);
        var (pipe2, _) = _fds.Pipe();
        var (pipe3, _) = _fds.Pipe();
        var (pipe4, _) = _fds.Pipe();
        var (pipe5, _) = _fds.Pipe();
        int[] sources = [pipe1, socket, pipe2, pipe3, pipe4, pipe5];
        for (var i = 0; i < sources.Length; i++)
        {
            Assert.That(Libc.Fcntl(sources[i], Libc.F_DUPFD, start + i), Is.EqualTo(start + i));
            _fds.Owned(start + i);
        }
        Assert.That(Libc.Fcntl(start, Libc.F_GETFD, 0) & Libc.FD_CLOEXEC, Is.Zero, "inherited fds come without close-on-exec");

        var names = "web.1.out:sock:bad name:dup:dup";
        Assert.That(ListenFds.Parse("1", "6", names, 2, start, NullLogger.Instance), Is.Empty, "LISTEN_PID of another process");
        Assert.That(Libc.FileType(start + 1), Is.EqualTo(Libc.S_IFSOCK), "not touched then");

        var recovered = ListenFds.Parse(Environment.ProcessId.ToString(), "6", names, Environment.ProcessId, start, NullLogger.Instance);
        Assert.That(recovered, Is.EqualTo(new Dictionary<string, int> { ["web.1.out"] = start, ["dup"] = start + 4, ["unknown"] = start + 5 }));
        Assert.That(Libc.Fcntl(start, Libc.F_GETFD, 0) & Libc.FD_CLOEXEC, Is.EqualTo(Libc.FD_CLOEXEC), "close-on-exec set");
        Assert.That(Libc.FileType(start + 1), Is.EqualTo(-1), "the socket closed");
        Assert.That(Libc.FileType(start + 2), Is.EqualTo(-1), "the badly named pipe closed");
        Assert.That(Libc.FileType(start + 3), Is.EqualTo(-1), "the earlier of two with one name closed");
        Assert.That(RealFds.Identity(start + 4), Is.EqualTo(RealFds.Identity(pipe4)));
    }

    [Test]
    public void Listen_fds_past_the_bound_are_closed_and_a_count_that_is_no_number_is_ignored()
    {
        var start = FreeRun(3);
        for (var i = 0; i < 3; i++)
        {
            var (read, _) = _fds.Pipe();
            Assert.That(Libc.Fcntl(read, Libc.F_DUPFD, start + i), Is.EqualTo(start + i));
            _fds.Owned(start + i);
        }
        var pid = Environment.ProcessId;
        Assert.That(ListenFds.Parse(pid.ToString(), "x", "a:b:c", pid, start, NullLogger.Instance), Is.Empty);
        Assert.That(ListenFds.Parse(pid.ToString(), "-1", "a:b:c", pid, start, NullLogger.Instance), Is.Empty);
        var recovered = ListenFds.Parse(pid.ToString(), "3", "a:b:c", pid, start, NullLogger.Instance, max: 2);
        Assert.That(recovered.Keys, Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(Libc.FileType(start + 2), Is.EqualTo(-1), "the fd past the bound closed");
        Assert.That(Limits.MaxKeptPipes, Is.EqualTo(16384), "the bound in use (docs/security.md)");
    }

    [Test]
    public void The_factory_takes_systemds_store_under_notify_socket_and_says_why_when_it_keeps_nothing()
    {
        var before = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        try
        {
            var holderPath = Path.Combine(_dir.FullName, "fdholder.sock");
            using (var none = PipeKeeper.Open(PipeKeeperMode.None, holderPath, NullLogger.Instance))
                Assert.That((none.IsActive, none.Description), Is.EqualTo((false, "none (not asked for)")));

            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            using (var missing = PipeKeeper.Open(PipeKeeperMode.Systemd, holderPath, NullLogger.Instance))
                Assert.That((missing.IsActive, missing.Description), Is.EqualTo((false, "none (systemd's fd store asked for, but NOTIFY_SOCKET is not set)")));

            var notify = Path.Combine(_dir.FullName, "notify");
            _fds.BoundDatagram(notify);
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", notify);
            using (var auto = PipeKeeper.Open(PipeKeeperMode.Auto, holderPath, NullLogger.Instance))
                Assert.That((auto.IsActive, auto.Description), Is.EqualTo((true, "systemd's file descriptor store")));
            Assert.That(File.Exists(holderPath), Is.False, "no holder started under systemd");

            if (Libc.GetEuid() == 0)
            {
                var foreign = Directory.CreateDirectory(Path.Combine(_dir.FullName, "foreign"));
                File.SetUnixFileMode(foreign.FullName, (UnixFileMode)0x1FF);
                Assert.That(Libc.Chown(foreign.FullName, 65534, 65534), Is.Zero);
                using var notOurs = PipeKeeper.Open(PipeKeeperMode.Holder, Path.Combine(foreign.FullName, "fdholder.sock"), NullLogger.Instance);
                Assert.That(notOurs.Description, Is.EqualTo($"none (fd holder unavailable: {foreign.FullName}: owned by uid 65534, not by supd's uid 0)"));
            }

            File.CreateSymbolicLink(holderPath, "/tmp/elsewhere.sock");
            using var linked = PipeKeeper.Open(PipeKeeperMode.Holder, holderPath, NullLogger.Instance);
            Assert.That(linked.IsActive, Is.False);
            Assert.That(linked.Description, Is.EqualTo($"none (fd holder unavailable: {holderPath}: is a symbolic link (not followed))"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", before);
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive unused fd numbers above 500.</summary>
    private static int FreeRun(int count)
    {
        for (var start = 500; start < 900; start += count)
            if (Enumerable.Range(start, count).All(fd => Libc.FileType(fd) == -1)) return start;
        throw new InvalidOperationException("no free fd numbers");
    }
}
