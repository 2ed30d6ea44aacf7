using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Interop;
using Supervisor.Core.Survival;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Survival;

/// <summary>
/// The fd holder as supd uses it: the real holder process (supd --fd-holder, or the native build's supd-exec), real
/// pipes, clients that go away as a killed supd's would and newer ones that take the pipes back.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[NonParallelizable]
public sealed class FdHolderTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static readonly TimeSpan ShortSweep = TimeSpan.FromMilliseconds(300);

    private RealFds _fds = null!;
    private DirectoryInfo _dir = null!;
    private string _path = null!;
    private readonly HashSet<int> _holders = [];
    private readonly List<IPipeKeeper> _keepers = [];

    [SetUp]
    public void SetUp()
    {
        _fds = new RealFds();
        _dir = Directory.CreateTempSubdirectory("supd-fdholder-");
        _path = Path.Combine(_dir.FullName, "fdholder.sock");
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var keeper in _keepers) keeper.Dispose();
        // Every holder a test started ends here, whatever the test did.
        foreach (var pid in _holders)
        {
            if (ProcessTable.IsAlive(pid)) Libc.Kill(pid, 9);
            await Eventually.TrueAsync(() => Gone(pid), $"holder {pid} gone");
        }
        _fds.Dispose();
        _dir.Delete(recursive: true);
    }

    private IReadOnlyList<string> HolderCommand => Flavor.Directory is { } dir ? [Path.Combine(dir, "supd-exec")] : [Flavor.Supd];

    private FdHolderClient Open(TimeSpan? sweep = null)
    {
        var keeper = PipeKeeper.Open(PipeKeeperMode.Holder, _path, NullLogger.Instance,
            // A holder started while the whole suite runs (a JIT process on two busy cores) can take long to answer.
            new FdHolderOptions { Command = HolderCommand, SweepInterval = sweep ?? FdHolder.DefaultSweepInterval, AnswerTimeout = TimeSpan.FromSeconds(60) });
        _keepers.Add(keeper);
        Assert.That(keeper.IsActive, Is.True, keeper.Description);
        var client = (FdHolderClient)keeper;
        _holders.Add(client.HolderPid);
        Assert.That(keeper.Description, Is.EqualTo($"fd holder (pid {client.HolderPid}, {_path})"));
        return client;
    }

    /// <summary>
    /// Exited, every thread of it: reaped here if it is the test host's child. A multi-threaded process's leader shows
    /// 'Z' while its other threads still exit, and its descriptors (the holder's sockets) close only with the last of
    /// them, so a zombie that cannot be reaped yet is not gone.
    /// </summary>
    private static unsafe bool Gone(int pid)
    {
        var stat = ProcessTable.Stat(pid);
        if (stat is null) return true;
        if (stat.Value.State != 'Z') return false;
        Libc.SigInfo info = default;
        if (Libc.WaitId(Libc.P_PID, pid, &info, Libc.WEXITED | Libc.WNOHANG) == 0) return info.Pid == pid;
        // Not ours to reap: gone once its last thread is.
        return Directory.Exists($"/proc/{pid}/task") && Directory.GetDirectories($"/proc/{pid}/task").Length <= 1;
    }

    // A holder started by a keeper that then went away, and a raw connection to it (root may connect: the newest
    // connection is the holder's client).
    private (int Socket, int Holder) RawClientOfAHolder()
    {
        var client = Open();
        var holder = client.HolderPid;
        client.Dispose();
        var (socket, error) = _fds.ConnectSeqpacket(_path);
        Assert.That(error, Is.Zero);
        return (socket, holder);
    }

    // The holder's next message on a raw connection.
    private async Task<string> NextAnswerAsync(int socket, string what)
    {
        string? answer = null;
        await Eventually.TrueAsync(() => (answer = _fds.Receive(socket)) is not null, what);
        return answer!;
    }

    private static unsafe ulong HardFileLimit()
    {
        Libc.RLimit limit;
        return Libc.GetRLimit(Libc.RLIMIT_NOFILE, &limit) == 0 ? limit.Maximum : 0;
    }

    private static string[] HeldPipes(int holder) =>
        Directory.GetFiles($"/proc/{holder}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .Where(target => target.StartsWith("pipe:", StringComparison.Ordinal)).Order().ToArray();

    [Test]
    public void Pipes_kept_by_a_supd_that_went_away_come_back_to_the_next_with_every_byte_written_meanwhile()
    {
        var first = Open();
        var holder = first.HolderPid;
        Assert.That(ProcessTable.Stat(holder)!.Value.Session, Is.EqualTo(holder), "the holder leads a session of its own");
        Assert.That(File.GetUnixFileMode(_path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var (webRead, webWrite) = _fds.Pipe();
        var (dbRead, dbWrite) = _fds.Pipe();
        first.Keep("web.1.out", webRead);
        first.Keep("db.1.err", dbRead);
        _fds.Close(webRead);
        _fds.Close(dbRead);
        first.Dispose(); // no Release: as a supd that is killed

        // The jobs write while no supd runs: into pipes only the holder reads.
        var webBytes = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 100).Select(i => $"web line {i}\n")));
        var dbBytes = new byte[40_000];
        new Random(7).NextBytes(dbBytes);
        RealFds.WriteAll(webWrite, webBytes);
        RealFds.WriteAll(dbWrite, dbBytes);
        _fds.Close(webWrite);
        _fds.Close(dbWrite);

        var second = Open();
        Assert.That(second.HolderPid, Is.EqualTo(holder), "the same holder, found at the socket");
        var recovered = second.TakeRecovered();
        Assert.That(recovered.Keys, Is.EquivalentTo(new[] { "web.1.out", "db.1.err" }));
        Assert.That(second.TakeRecovered(), Is.Empty, "once");
        foreach (var fd in recovered.Values)
        {
            _fds.Owned(fd);
            Assert.That(Libc.Fcntl(fd, Libc.F_GETFD, 0) & Libc.FD_CLOEXEC, Is.EqualTo(Libc.FD_CLOEXEC));
        }
        Assert.That(RealFds.ReadToEnd(recovered["web.1.out"]), Is.EqualTo(webBytes));
        Assert.That(RealFds.ReadToEnd(recovered["db.1.err"]), Is.EqualTo(dbBytes));
        Assert.That(second.Failures, Is.Zero);
    }

    [Test]
    public async Task Forget_lets_one_go_and_release_ends_the_holder_and_removes_its_socket()
    {
        var first = Open();
        var holder = first.HolderPid;
        var (a, _) = _fds.Pipe();
        var (b, _) = _fds.Pipe();
        first.Keep("a", a);
        first.Keep("b", b);
        first.Forget("a");
        first.Detach();
        // Sent is enough: the holder reads what is queued before it takes a newer client.
        var second = Open();

        var recovered = second.TakeRecovered();
        foreach (var fd in recovered.Values) _fds.Owned(fd);
        Assert.That(recovered.Keys, Is.EqualTo(new[] { "b" }));
        Assert.That(HeldPipes(holder), Does.Contain(RealFds.Identity(b)).And.Not.Contain(RealFds.Identity(a)));

        var clock = Stopwatch.StartNew();
        second.Release();
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2.5)));
        await Eventually.TrueAsync(() => Gone(holder), "the holder's exit after RELEASE");
        Assert.That(File.Exists(_path), Is.False, "a clean stop leaves no socket file");
        Assert.That(second.Failures, Is.Zero);
    }

    [Test]
    public async Task A_hung_up_empty_pipe_is_dropped_one_with_data_is_kept_and_a_holder_left_with_nothing_exits()
    {
        var first = Open(ShortSweep);
        var holder = first.HolderPid;
        var (emptyRead, emptyWrite) = _fds.Pipe();
        var (fullRead, fullWrite) = _fds.Pipe();
        var full = RealFds.Identity(fullRead);
        var empty = RealFds.Identity(emptyRead);
        first.Keep("empty", emptyRead);
        first.Keep("full", fullRead);
        _fds.Close(emptyRead);
        _fds.Close(fullRead);
        first.Dispose();
        // Both jobs end; one left output nobody has read yet.
        RealFds.WriteAll(fullWrite, "last words\n"u8.ToArray());
        _fds.Close(fullWrite);
        _fds.Close(emptyWrite);

        await Eventually.TrueAsync(() => HeldPipes(holder) is var held && held.Contains(full) && !held.Contains(empty), "the hung-up empty pipe dropped, the other held");

        var second = Open(ShortSweep);
        var recovered = second.TakeRecovered();
        foreach (var fd in recovered.Values) _fds.Owned(fd);
        Assert.That(recovered.Keys, Is.EqualTo(new[] { "full" }));
        Assert.That(RealFds.ReadToEnd(recovered["full"]), Is.EqualTo("last words\n"u8.ToArray()));
        second.Forget("full");
        second.Dispose();
        await Eventually.TrueAsync(() => Gone(holder), "the holder's exit once it holds nothing and no supd is connected");
    }

    [Test]
    public async Task The_holder_refuses_a_peer_of_another_uid_and_keeps_serving_its_supd()
    {
        if (Libc.GetEuid() != 0) Assert.Ignore("needs root: to connect as another user (setpriv)");
        if (!File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3")) Assert.Ignore("needs /usr/bin/setpriv and /usr/bin/python3");
        var client = Open();
        // Let nobody reach the socket, so that only the holder's SO_PEERCRED check stands in the way.
        File.SetUnixFileMode(_dir.FullName, (UnixFileMode)0x1ED); // 0755
        File.SetUnixFileMode(_path, (UnixFileMode)0x1B6); // 0666
        const string script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(sys.argv[1])
            s.settimeout(20)
            try:
                s.send(b"LIST")
                data = s.recv(600)
                print("closed" if data == b"" else "answered " + data.decode())
            except (ConnectionResetError, BrokenPipeError):
                print("closed")
            """;
        var start = new ProcessStartInfo("/usr/bin/setpriv")
        {
            ArgumentList = { "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, _path },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var peer = Process.Start(start)!;
        var output = peer.StandardOutput.ReadToEndAsync();
        var errors = peer.StandardError.ReadToEndAsync();
        try
        {
            await peer.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!peer.HasExited) peer.Kill();
        }
        Assert.That((await output).Trim(), Is.EqualTo("closed"), await errors);

        // supd's connection was not replaced by the refused one.
        var (read, _) = _fds.Pipe();
        client.Keep("after", read);
        client.Detach();
        Assert.That(client.Failures, Is.Zero);
        var next = Open();
        foreach (var fd in next.TakeRecovered().Values) _fds.Owned(fd);
        Assert.That(HeldPipes(next.HolderPid), Does.Contain(RealFds.Identity(read)));
    }

    [Test]
    public async Task Supd_refuses_a_socket_that_another_uid_listens_on_in_its_directory()
    {
        if (Libc.GetEuid() != 0) Assert.Ignore("needs root: to listen as another user (setpriv)");
        if (!File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3")) Assert.Ignore("needs /usr/bin/setpriv and /usr/bin/python3");
        File.SetUnixFileMode(_dir.FullName, (UnixFileMode)0x1FF); // 0777: still root's directory, but nobody may bind in it
        const string script = """
            import os, socket, sys, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.bind(sys.argv[1])
            s.listen(4)
            print("listening", flush=True)
            time.sleep(60)
            """;
        var start = new ProcessStartInfo("/usr/bin/setpriv")
        {
            ArgumentList = { "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, _path },
            RedirectStandardOutput = true,
        };
        using var impostor = Process.Start(start)!;
        try
        {
            var line = await impostor.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(line, Is.EqualTo("listening"));
            using var keeper = PipeKeeper.Open(PipeKeeperMode.Holder, _path, NullLogger.Instance,
                new FdHolderOptions { Command = HolderCommand });
            Assert.That(keeper.IsActive, Is.False);
            Assert.That(keeper.Description, Is.EqualTo($"none (fd holder unavailable: {_path}: the socket there belongs to uid 65534, not to supd's uid 0; refused)"));
        }
        finally
        {
            impostor.Kill();
            await impostor.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Test]
    public async Task Oversized_and_malformed_messages_are_answered_err_and_change_nothing()
    {
        var (socket, holder) = RawClientOfAHolder();
        var (pipe, _) = _fds.Pipe();
        var (other, _) = _fds.SocketPair(Libc.SOCK_STREAM);

        async Task<string> Ask(string message, int fd = -1)
        {
            Assert.That(Libc.SendWithFd(socket, Encoding.ASCII.GetBytes(message), fd), Is.Zero);
            return await NextAnswerAsync(socket, $"an answer to {message[..Math.Min(20, message.Length)]}");
        }

        Assert.That(await Ask("KEEP " + new string('a', 508), pipe), Is.EqualTo("ERR message longer than 512 bytes"));
        Assert.That(await Ask("KEEP bad/name", pipe), Is.EqualTo("ERR KEEP: not a valid name: \"bad/name\""));
        Assert.That(await Ask("KEEP " + new string('a', 65), pipe), Does.StartWith("ERR KEEP: not a valid name"));
        Assert.That(await Ask("KEEP nofd"), Is.EqualTo("ERR KEEP nofd: 0 fds came with it, not one"));
        Assert.That(await Ask("KEEP socket", other), Is.EqualTo("ERR KEEP socket: not a pipe"));
        Assert.That(await Ask("HELLO"), Is.EqualTo("ERR malformed message: \"HELLO\""));
        Assert.That(await Ask("LIST"), Is.EqualTo($"END {holder}"), "nothing held after all that");
        Assert.That(HeldPipes(holder), Does.Not.Contain(RealFds.Identity(pipe)));

        // A message of exactly 512 bytes is taken.
        var name = new string('n', 64);
        Assert.That(Libc.SendWithFd(socket, Encoding.ASCII.GetBytes("KEEP " + name), pipe), Is.Zero);
        Assert.That(await Ask("LIST"), Is.EqualTo("FD " + name));
        Assert.That(await NextAnswerAsync(socket, "END after the FD"), Is.EqualTo($"END {holder}"));
        Assert.That(ProcessTable.IsAlive(holder), Is.True);
    }

    [Test]
    public async Task The_holder_holds_at_most_max_kept_pipes_and_refuses_the_next_with_err()
    {
        var hard = HardFileLimit();
        if (hard < (ulong)Limits.MaxKeptPipes + 256) Assert.Ignore($"the hard fd limit ({hard}) is below {Limits.MaxKeptPipes} + 256");
        var (socket, holder) = RawClientOfAHolder();
        // One pipe sent under many names: the holder gets an fd of its own each time, the test needs only one.
        var (pipe, _) = _fds.Pipe();
        for (var i = 0; i <= Limits.MaxKeptPipes; i++)
        {
            var sent = Libc.SendWithFd(socket, Encoding.ASCII.GetBytes($"KEEP p{i}"), pipe);
            Assert.That(sent, Is.Zero, $"KEEP p{i}: {new Errno(sent)}");
        }
        Assert.That(await NextAnswerAsync(socket, "the refusal of the pipe past the bound"), Is.EqualTo($"ERR KEEP p{Limits.MaxKeptPipes}: {Limits.MaxKeptPipes} pipes held already"));
        // A name held already is replaced, not refused, at the bound.
        Assert.That(Libc.SendWithFd(socket, "KEEP p0"u8, pipe), Is.Zero);
        Assert.That(Libc.SendWithFd(socket, "FORGET p1"u8, -1), Is.Zero);
        Assert.That(Libc.SendWithFd(socket, "KEEP again"u8, pipe), Is.Zero);
        Assert.That(Libc.SendWithFd(socket, "MARK"u8, -1), Is.Zero);
        Assert.That(await NextAnswerAsync(socket, "the answer to the marker"), Is.EqualTo("ERR malformed message: \"MARK\""), "no refusal before it: one was forgotten");
        Assert.That(Directory.GetFiles($"/proc/{holder}/fd"), Has.Length.GreaterThanOrEqualTo(Limits.MaxKeptPipes));
        Assert.That(ProcessTable.IsAlive(holder), Is.True);
    }

    [Test]
    public void A_holder_that_dies_is_replaced_for_later_keeps_and_the_loss_is_counted()
    {
        var client = Open();
        var first = client.HolderPid;
        var (a, _) = _fds.Pipe();
        client.Keep("a", a);
        client.Detach();

        var again = Open();
        Assert.That(HeldPipes(first), Does.Contain(RealFds.Identity(a)));
        foreach (var fd in again.TakeRecovered().Values) _fds.Owned(fd);
        Libc.Kill(again.HolderPid, 9);
        Assert.That(Eventually.TrueAsync(() => Gone(first), "the holder killed").Wait(TimeSpan.FromSeconds(30)), Is.True);
        var (b, _) = _fds.Pipe();
        again.Keep("b", b);
        again.Detach();
        // Under load the new holder's start (a JIT process here) can outlast Detach's wait: the count comes all the same.
        Assert.That(Eventually.TrueAsync(() => again.Failures >= 1 && again.HolderPid != first, "the keep that found the holder gone to be counted, and a new holder",
            TimeSpan.FromSeconds(90)).Wait(TimeSpan.FromSeconds(100)), Is.True, () => $"failures {again.Failures}, holder {again.HolderPid} (first {first})");
        Assert.That(again.Failures, Is.EqualTo(1), "the keep that found the holder gone");
        Assert.That(again.HolderPid, Is.Not.EqualTo(first), "a new holder, started over the stale socket file");
        _holders.Add(again.HolderPid);
        Assert.That(again.Description, Does.StartWith($"fd holder (pid {again.HolderPid}, "));

        var next = Open();
        var recovered = next.TakeRecovered();
        foreach (var fd in recovered.Values) _fds.Owned(fd);
        Assert.That(recovered.Keys, Is.EqualTo(new[] { "b" }), "what the dead holder held is lost; what came after is kept");
    }
}
