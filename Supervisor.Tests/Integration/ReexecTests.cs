using System.Globalization;
using NUnit.Framework;
using Supervisor.Protocol;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// <c>supctl daemon-reexec</c>: supd replaces its image (same pid) and every job goes on as it was: same pids, every
/// line of output once, a respawn delay ending when it was due, the control socket answering throughout; and a binary
/// that does not read supd's handover format is refused before the exec, supd serving on.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ReexecTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // A steady writer and a fast one (bursts of 500 lines): each line numbered, so a lost or doubled one shows.
    private const string Counter = NumberedLog.CounterJob, Flood = NumberedLog.FloodJob;

    [Test]
    public async Task Twenty_reexecs_keep_every_pid_and_every_line_once_and_status_answers_throughout()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("counter", Counter);
        supd.WriteJob("flood", Flood);
        await supd.StartAsync();
        await supd.WaitForLogAsync("counter", "line 3\n");
        var counterPid = SupdHarness.PidOf((await supd.CtlAsync("status", "counter")).Stdout);
        var floodPid = SupdHarness.PidOf((await supd.CtlAsync("status", "flood")).Stdout);
        var supdPid = supd.SupdPid;

        // Status asked all along, each on a connection of its own as supctl does: every one must be answered.
        using var stop = new CancellationTokenSource();
        var answered = 0;
        var round = 0;
        var failures = new List<string>();
        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = new RawClient(supd.Socket);
                try
                {
                    var reply = await client.Client.StatusAsync(new StatusRequest { Job = "counter" }, deadline: DateTime.UtcNow.AddSeconds(60));
                    if (reply.Status.State != State.Running) lock (failures) failures.Add($"counter was {reply.Status.State}");
                    Interlocked.Increment(ref answered);
                }
                catch (Grpc.Core.RpcException e)
                {
                    lock (failures) failures.Add($"during re-exec {Volatile.Read(ref round)}: {e.Status}");
                }
                await Task.Delay(20);
            }
        });

        for (var i = 1; i <= 20; i++)
        {
            Volatile.Write(ref round, i);
            var reexec = await supd.CtlAsync("daemon-reexec");
            Assert.That(reexec.ExitCode, Is.EqualTo(0), reexec.Stderr);
            Assert.That(reexec.Stdout, Does.Contain($"pid {supdPid},").And.Contain($"re-exec {i} since it started"));
        }
        stop.Cancel();
        await poller;

        // Seen 3 times in ~35 runs under load (a Broken pipe as the call started): supd's own account is kept with it.
        Assert.That(failures, Is.Empty, $"status requests that failed during the re-execs; supd's output:\n{supd.DaemonOutput}");
        Assert.That(answered, Is.GreaterThan(20));
        Assert.That(supd.SupdPid, Is.EqualTo(supdPid));
        Assert.That(SupdHarness.PidOf((await supd.CtlAsync("status", "counter")).Stdout), Is.EqualTo(counterPid));
        Assert.That(SupdHarness.PidOf((await supd.CtlAsync("status", "flood")).Stdout), Is.EqualTo(floodPid));
        Assert.That(supd.DaemonOutput, Does.Not.Contain("cannot be used").And.Not.Contain("Re-exec: "), "every instance went over as it was");
        // Lines written after the last re-exec too: the pipes are read by the newest image.
        var last = NumberedLog.Numbers(supd.ReadLog("counter"), "line ").Last();
        await supd.WaitForLogAsync("counter", $"line {last + 3}\n");
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "counter"), "line ");
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "flood"), "flood ");
    }

    [Test]
    public async Task Followers_go_on_after_a_reexec_and_say_so()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("counter", Counter);
        await supd.StartAsync();
        await supd.WaitForLogAsync("counter", "line 3\n");
        using var log = CtlWatcher.Start(supd, "log", "-f", "-n", "1", "counter");
        using var events = CtlWatcher.Start(supd, "events", "-f");
        await Eventually.TrueAsync(() => log.Lines.Any(l => l.StartsWith("line ", StringComparison.Ordinal)), "the log follower's first line");
        await events.EmitUntilSeenAsync(supd, "follower-ready", "the events follower to be connected");

        var reexec = await supd.CtlAsync("daemon-reexec");
        Assert.That(reexec.ExitCode, Is.EqualTo(0), reexec.Stderr);
        var after = NumberedLog.Numbers(supd.ReadLog("counter"), "line ").Last();

        // Lines written while it reconnected are not shown (it says so): any line past the re-exec's will do.
        await Eventually.TrueAsync(() => NumberedLog.Numbers(string.Join('\n', log.Lines.Where(l => l.StartsWith("line ", StringComparison.Ordinal))), "line ").Max() > after + 5,
            $"the log follower going on after the re-exec (past line {after + 5}); its stderr: {log.Errors}; its last lines: {string.Join(" | ", log.Lines.TakeLast(10))}",
            TimeSpan.FromSeconds(60));
        // An event emitted before the follower has reconnected is one of those not shown: emitted again until one is.
        await events.EmitUntilSeenAsync(supd, "after-reexec", $"the events follower going on after the re-exec; its stderr: {events.Errors}",
            TimeSpan.FromSeconds(60));
        Assert.That(log.Errors, Does.Contain("supd was re-executed or restarted; following again"));
        Assert.That(events.Errors, Does.Contain("supd was re-executed or restarted; following again"));
        Assert.That(log.Process.HasExited, Is.False);
    }

    [Test]
    public async Task A_respawn_delay_under_way_ends_when_it_was_due_across_a_reexec()
    {
        await using var supd = new SupdHarness();
        var stay = Path.Combine(supd.Root, "stay");
        // It exits at once until STAY exists, then stays up: one crash, one delayed respawn.
        supd.WriteJob("flaky", $"""
            start on startup
            env STAY={stay}
            respawn
            respawn delay 25 25
            script
                echo "ran at $(date +%s.%N)"
                [ -e "$STAY" ] && exec sleep 100000
                exit 3
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForLogAsync("flaky", "ran at");
        var status = (await supd.WaitForStatusAsync("flaky", "respawning")).Stdout;
        File.WriteAllText(stay, "");
        // Well into the delay, so a delay that started afresh in the new image (8 s late at least) would show.
        var first = Runs(supd.ReadLog("flaky"))[0];
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 >= first + 8, "8 s into the delay", TimeSpan.FromSeconds(30));

        var reexec = await supd.CtlAsync("daemon-reexec");
        Assert.That(reexec.ExitCode, Is.EqualTo(0), reexec.Stderr);
        Assert.That((await supd.CtlAsync("status", "flaky")).Stdout, Does.Contain("respawning"), $"still waiting after the re-exec ({reexec.Stdout}):\n{supd.DaemonOutput}");

        await Eventually.TrueAsync(() => Runs(supd.ReadLog("flaky")).Count == 2, "the respawn after the delay", TimeSpan.FromSeconds(90));
        var runs = Runs(supd.ReadLog("flaky"));
        // MIN = MAX: no jitter. Never before the delay, and not 8 s after it: the re-exec kept its end.
        Assert.That(runs[1] - runs[0], Is.GreaterThanOrEqualTo(25.0).And.LessThan(25.0 + 5), $"seconds between the runs ({status})");
    }

    [Test]
    public async Task An_instance_that_stays_between_states_holds_the_reexec_back_then_refuses_it_and_supd_serves_on()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("slow", "start on startup\npre-start exec sleep 100000\nexec sleep 100000\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("slow", "pre-start");

        var reexec = await supd.CtlAsync("daemon-reexec");

        Assert.That(reexec.ExitCode, Is.EqualTo(1));
        Assert.That(reexec.Stderr, Is.EqualTo("supctl: cannot re-execute now: slow is pre-start (waited 10s); try again\n"));
        Assert.That((await supd.CtlAsync("status", "slow")).Stdout, Does.StartWith("slow start/pre-start"));
        Assert.That((await supd.CtlAsync("version")).Stdout, Does.Contain("supd (supd"));
    }

    [Test]
    public async Task A_line_cut_across_the_exec_keeps_one_timestamp()
    {
        await using var supd = new SupdHarness();
        var go = Path.Combine(supd.Root, "go");
        supd.WriteJob("halves", $$"""
            start on startup
            log timestamps
            script
                printf 'first half, '
                while [ ! -e {{go}} ]; do sleep 0.05; done
                echo 'second half'
                exec sleep 100000
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForLogAsync("halves", "first half, ");

        var reexec = await supd.CtlAsync("daemon-reexec");
        Assert.That(reexec.ExitCode, Is.EqualTo(0), reexec.Stderr);
        File.WriteAllText(go, "");

        await supd.WaitForLogAsync("halves", "second half\n");
        var log = supd.ReadLog("halves");
        Assert.That(log, Does.Match(@"^\d{4}-\d\d-\d\dT[0-9:.+-]+ first half, second half\n$"), "one line, one timestamp, as without the exec");
    }

    [Test]
    public async Task An_exec_that_fails_leaves_supd_as_it_was_and_says_so()
    {
        // The binary at supd's path answers the formats question, then can no longer be executed (as a botched
        // upgrade could leave it): execve fails after everything stood still, and everything must go on.
        var copy = CopyOfSupd(out var program);
        try
        {
            await using var supd = new SupdHarness { SupdProgram = program };
            supd.WriteJob("counter", Counter);
            await StartCopyAsync(supd);
            await supd.WaitForLogAsync("counter", "line 3\n");
            var pid = SupdHarness.PidOf((await supd.CtlAsync("status", "counter")).Stdout);

            File.Delete(program);
            File.WriteAllText(program, "#!/bin/sh\necho 'supd handover formats: 1'\nchmod a-x \"$0\"\n");
            File.SetUnixFileMode(program, (UnixFileMode)0x1ed);

            var reexec = await supd.CtlAsync("daemon-reexec");
            Assert.That(reexec.ExitCode, Is.EqualTo(1));
            Assert.That(reexec.Stderr, Does.Contain($"the re-exec failed: execve {program}: Permission denied; supd goes on as it was"));
            await DaemonTrace.WaitForAsync(supd, "The re-exec failed");
            // The loop, the reaper and the pumps go on: the job is the same, its output still comes, a stop is reaped.
            Assert.That(SupdHarness.PidOf((await supd.CtlAsync("status", "counter")).Stdout), Is.EqualTo(pid));
            var last = NumberedLog.Numbers(supd.ReadLog("counter"), "line ").Last();
            await supd.WaitForLogAsync("counter", $"line {last + 3}\n");
            var stop = await supd.CtlAsync("stop", "counter");
            Assert.That(stop.Stdout, Does.StartWith("counter stop/waiting"));
            NumberedLog.AssertEachOnce(supd.ReadLog("counter"), "line ");
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Test]
    public async Task A_binary_that_does_not_read_the_state_is_refused_before_the_exec_and_supd_serves_on()
    {
        // supd started from a copy of itself, which is then replaced by a binary that reads another format (an older
        // or foreign supd, as a botched upgrade would leave).
        var copy = CopyOfSupd(out var program);
        try
        {
            await using var supd = new SupdHarness { SupdProgram = program };
            supd.WriteJob("sleeper", "start on startup\nexec sleep 100000\n");
            await StartCopyAsync(supd);
            var pid = SupdHarness.PidOf((await supd.WaitForStatusAsync("sleeper", "running")).Stdout);

            File.Delete(program);
            File.WriteAllText(program, "#!/bin/sh\necho 'supd handover formats: 99'\n");
            File.SetUnixFileMode(program, (UnixFileMode)0x1ed);

            var reexec = await supd.CtlAsync("daemon-reexec");
            Assert.That(reexec.ExitCode, Is.Not.EqualTo(0));
            Assert.That(reexec.Stderr, Does.Contain($"cannot re-execute: {program} reads handover format 99, this supd writes 1; supd keeps running"));
            var status = await supd.CtlAsync("status", "sleeper");
            Assert.That(status.ExitCode, Is.EqualTo(0));
            Assert.That(SupdHarness.PidOf(status.Stdout), Is.EqualTo(pid));
            Assert.That((await supd.CtlAsync("version")).Stdout, Does.Contain("supd (supd"));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    // The rotated files, oldest first, then the current one: the whole output (rotation keeps 5 of 10 MiB each).
    // A binary just copied can be busy for a moment (ETXTBSY): a child the test host forked meanwhile holds the copy's
    // write descriptor until it execs.
    private static async Task StartCopyAsync(SupdHarness supd)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await supd.StartAsync();
                return;
            }
            catch (System.ComponentModel.Win32Exception e) when (attempt < 20 && e.Message.Contains("Text file busy", StringComparison.Ordinal))
            {
                await Task.Delay(100);
            }
        }
    }

    // A copy of the flavor's supd in a directory of its own (the JIT build's whole output), for a test to replace.
    private string CopyOfSupd(out string program)
    {
        var copy = Directory.CreateTempSubdirectory("supd-reexec-").FullName;
        var source = Path.GetDirectoryName(Binaries.Supd)!;
        var files = Flavor.IsNative ? [Binaries.Supd] : Directory.GetFiles(source);
        foreach (var file in files) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        foreach (var dir in Flavor.IsNative ? [] : Directory.GetDirectories(source)) CopyTree(dir, Path.Combine(copy, Path.GetFileName(dir)));
        program = Path.Combine(copy, Path.GetFileName(Binaries.Supd));
        File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
        return copy;
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    private static List<double> Runs(string log) =>
        [.. log.Split('\n').Where(l => l.StartsWith("ran at ", StringComparison.Ordinal))
            .Select(l => double.Parse(l["ran at ".Length..], CultureInfo.InvariantCulture))];
}
