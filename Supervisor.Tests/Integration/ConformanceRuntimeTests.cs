using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Section F (runtime behaviour) of the Upstart 1.12 conformance cases, run against the real supd and supctl.
/// Event traces come from supd's <c>supd: Event …</c> lines. Where a case waits "~N s", the test replaces the sleep by
/// a gate file the test opens, and asserts the order of things rather than a duration.
/// The tests share one supd (each with its own job and event names, loaded by a reload-configuration): a JIT supd's
/// start and warm-up cost more CPU than a test here costs itself. C88, whose job starts on every job's stopped event and
/// which stops supd, has its own.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ConformanceRuntimeTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    /// <summary>A shell loop that waits until the test creates <paramref name="gate"/>.</summary>
    private static string WaitFor(string gate) => $"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done'";

    private static void Open(string gate) => File.WriteAllText(gate, "");

    private static string[] Events(SupdHarness supd, string job, string? instance = "") =>
        DaemonTrace.JobEvents(supd.DaemonOutput, job, instance).ToArray();

    [Test]
    public async Task C64_Service_lifecycle_and_output()
    {
        var supd = _shared;
        supd.WriteJob("c64", "exec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "c64");
        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(start.Stdout, Does.Match(@"^c64 start/running, process \d+\n$"));
        Assert.That(ProcessTable.IsAlive(SupdHarness.PidOf(start.Stdout)), Is.True);
        // supd's log reaches the harness a little after the reply: wait for the line, then look at the whole trace.
        await DaemonTrace.WaitForEventAsync(supd, "c64", "started");
        Assert.That(Events(supd, "c64"), Is.EqualTo(new[] { "starting", "started" }));

        var again = await supd.CtlAsync("start", "c64");
        Assert.That(again, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").EqualTo("supctl: Job is already running: c64\n"));

        var stop = await supd.CtlAsync("stop", "c64");
        Assert.That(stop, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("c64 stop/waiting\n"));
        await DaemonTrace.WaitForEventAsync(supd, "c64", "stopped RESULT=ok");
        Assert.That(Events(supd, "c64"), Is.EqualTo(new[] { "starting", "started", "stopping RESULT=ok", "stopped RESULT=ok" }));

        var stopAgain = await supd.CtlAsync("stop", "c64");
        // Deviation: Upstart prints "Unknown instance: " with an empty name; supd names the job.
        Assert.That(stopAgain, Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown instance: c64\n"));

        var nosuch = await supd.CtlAsync("status", "nosuch");
        Assert.That(nosuch, Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown job: nosuch\n"));
    }

    [Test]
    public async Task C65_Task_blocks_start_and_emit()
    {
        var supd = _shared;
        var gate = Path.Combine(supd.Root, "gate-c65a");
        // The case's "exec sleep 2" is a gate the test opens: the task runs exactly as long as the test wants.
        supd.WriteJob("c65a", $"start on c65a-go\ntask\nexec {WaitFor(gate)}\n");
        await supd.ReloadJobsAsync();

        // emit go waits for the task it started to finish.
        var emit = supd.CtlAsync("emit", "c65a-go");
        await supd.WaitForStatusAsync("c65a", @"^c65a start/running, process \d+\n$");
        Assert.That(emit.IsCompleted, Is.False, "emit go returned while the task was still running");
        Open(gate);
        var emitted = await emit;
        Assert.That(emitted, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
        Assert.That((await supd.CtlAsync("status", "c65a")).Stdout, Is.EqualTo("c65a stop/waiting\n"), "the task had finished when emit returned");
        await DaemonTrace.WaitForEventAsync(supd, "c65a", "stopped RESULT=ok");

        // emit --no-wait returns at once: the task is still running after it returned.
        File.Delete(gate);
        var noWait = await supd.CtlAsync("emit", "--no-wait", "c65a-go");
        Assert.That(noWait, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
        await supd.WaitForStatusAsync("c65a", @"^c65a start/running, process \d+\n$");
        Open(gate);
        await supd.WaitForStatusAsync("c65a", "^c65a stop/waiting\n$");

        // start waits for the task to finish and prints its rest state.
        File.Delete(gate);
        var start = supd.CtlAsync("start", "c65a");
        await supd.WaitForStatusAsync("c65a", @"^c65a start/running, process \d+\n$");
        Assert.That(start.IsCompleted, Is.False, "start returned while the task was still running");
        Open(gate);
        Assert.That(await start, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("c65a stop/waiting\n"));

    }

    [Test]
    public async Task C65_Task_start_no_wait_prints_the_running_status()
    {
        var supd = _shared;
        var gate = Path.Combine(supd.Root, "gate-c65b");
        // The case's "exec sleep 2" is a gate the test opens: the task runs exactly as long as the test wants.
        supd.WriteJob("c65b", $"start on c65b-go\ntask\nexec {WaitFor(gate)}\n");
        await supd.ReloadJobsAsync();

        // start -n returns once the task is running, and says so.
        var startNoWait = await supd.CtlAsync("start", "-n", "c65b");

        Assert.That(startNoWait.ExitCode, Is.EqualTo(0), startNoWait.ToString());
        Assert.That(startNoWait.Stdout, Does.Match(@"^c65b start/running, process \d+\n$"));
        Assert.That((await supd.CtlAsync("status", "c65b")).Stdout, Does.Match(@"^c65b start/running, process \d+\n$"));
        Open(gate);
        await supd.WaitForStatusAsync("c65b", "^c65b stop/waiting\n$");
    }

    [Test]
    public async Task C67_Killed_by_signal()
    {
        var supd = _shared;
        supd.WriteJob("c67", "exec sh -c 'sleep 0.3; kill -SEGV $$'\n");
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "c67")).ExitCode, Is.EqualTo(0));

        await DaemonTrace.WaitForEventAsync(supd, "c67", "stopped RESULT=failed PROCESS=main EXIT_SIGNAL=SEGV");
        Assert.That(Events(supd, "c67"), Is.EqualTo(new[]
        {
            "starting", "started",
            "stopping RESULT=failed PROCESS=main EXIT_SIGNAL=SEGV",
            "stopped RESULT=failed PROCESS=main EXIT_SIGNAL=SEGV",
        }));
        Assert.That(supd.DaemonOutput, Does.Match(@"supd: c67 main process \(\d+\) killed by signal SEGV\n"));
        // supd adds the failure after initctl's "c67 stop/waiting".
        await supd.WaitForStatusAsync("c67", @"^c67 stop/waiting \(failed: main process killed by signal SEGV\)\n$");
    }

    [Test]
    public async Task C68_Respawn_limit_sequence()
    {
        var supd = _shared;
        var trace = Path.Combine(supd.Root, "trace-c68");
        supd.WriteJob("c68", $"""
            respawn
            respawn limit 3 10
            pre-start exec sh -c 'echo pre >> {trace}'
            post-stop exec sh -c 'echo post >> {trace}'
            exec sh -c 'echo main >> {trace}; sleep 0.2; exit 1'

            """);
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "c68");
        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());

        await DaemonTrace.WaitForEventAsync(supd, "c68", "stopped RESULT=failed PROCESS=respawn", timeout: Long);
        await supd.WaitForStatusAsync("c68", @"^c68 stop/waiting \(failed: respawning too fast, more than 3 times in 10s\)\n$");
        string[] respawn = ["starting", "started", "stopping RESULT=ok"];
        Assert.That(Events(supd, "c68"), Is.EqualTo(respawn.Concat(respawn).Concat(respawn).Concat(new[]
        {
            "starting", "started", "stopping RESULT=failed PROCESS=respawn", "stopped RESULT=failed PROCESS=respawn",
        })), "no stopped between respawns");
        // post-stop has run before stopped is emitted; waiting for the file only avoids racing its last write.
        await Eventually.TrueAsync(() => File.ReadAllText(trace) == string.Concat(Enumerable.Repeat("pre\nmain\npost\n", 4)),
            "the trace of four runs");
        var output = supd.DaemonOutput;
        // supd's wording of Upstart's "main process ended, respawning" / "respawning too fast, stopped".
        Assert.That(DaemonTrace.Count(output, "supd: c68 main process ended, respawning"), Is.EqualTo(3));
        Assert.That(DaemonTrace.Count(output, "supd: c68 respawning too fast (more than 3 times in 10s), stopped"), Is.EqualTo(1));
        var lines = DaemonTrace.Lines(output).ToList();
        Assert.That(lines.FindIndex(l => l.Contains("c68 respawning too fast", StringComparison.Ordinal)),
            Is.GreaterThan(lines.FindLastIndex(l => l.Contains("c68 main process ended, respawning", StringComparison.Ordinal))));
    }

    [Test]
    public async Task C70_normal_exit_stops_a_respawning_job()
    {
        var supd = _shared;
        supd.WriteJob("c70", "respawn\nnormal exit 0 2\nexec sh -c 'sleep 0.3; exit 2'\n");
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "c70")).ExitCode, Is.EqualTo(0));

        await DaemonTrace.WaitForEventAsync(supd, "c70", "stopped RESULT=ok");
        await supd.WaitForStatusAsync("c70", "^c70 stop/waiting\n$");
        Assert.That(Events(supd, "c70"), Is.EqualTo(new[] { "starting", "started", "stopping RESULT=ok", "stopped RESULT=ok" }));
        Assert.That(supd.DaemonOutput, Does.Not.Contain("c70 main process ended, respawning"));
        Assert.That(Regex.Count(supd.DaemonOutput, @"supd: c70 main process \(\d+\) started"), Is.EqualTo(1));
    }

    [Test]
    public async Task C71_pre_start_failure()
    {
        var supd = _shared;
        supd.WriteJob("c71", "pre-start exec false\nexec sleep 100\n");
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "c71");

        Assert.That(start.ExitCode, Is.EqualTo(1));
        // supd adds the indented reason after initctl's line.
        Assert.That(start.Stderr, Is.EqualTo("supctl: Job failed to start\n  c71: pre-start process exited with status 1\n"));
        await DaemonTrace.WaitForEventAsync(supd, "c71", "stopped RESULT=failed PROCESS=pre-start EXIT_STATUS=1");
        Assert.That(Events(supd, "c71"), Is.EqualTo(new[]
        {
            "starting",
            "stopping RESULT=failed PROCESS=pre-start EXIT_STATUS=1",
            "stopped RESULT=failed PROCESS=pre-start EXIT_STATUS=1",
        }));
        Assert.That(supd.DaemonOutput, Does.Not.Contain("c71 main process"), "main never runs");
        Assert.That((await supd.CtlAsync("status", "c71")).Stdout, Is.EqualTo("c71 stop/waiting (failed: pre-start process exited with status 1)\n"));
    }

    [Test]
    public async Task C73_Status_with_post_start()
    {
        var supd = _shared;
        var gate = Path.Combine(supd.Root, "gate-c73");
        // The case's "post-start exec sleep 3" is a gate: post-start lasts until the test opens it.
        supd.WriteJob("c73", $"post-start exec {WaitFor(gate)}\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var start = supd.CtlAsync("start", "c73");
        var status = await supd.WaitForStatusAsync("c73", @"^c73 start/post-start, process \d+\n\tpost-start process \d+\n$");

        var pids = Regex.Matches(status.Stdout, @"process (\d+)").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
        Assert.That(pids[0], Is.Not.EqualTo(pids[1]));
        Assert.That(ProcessTable.IsAlive(pids[0]) && ProcessTable.IsAlive(pids[1]), Is.True, "main and post-start both run");
        Assert.That(start.IsCompleted, Is.False, "start returns only once post-start has finished");

        Open(gate);
        var started = await start;
        Assert.That(started, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo($"c73 start/running, process {pids[0]}\n"));
        Assert.That((await supd.CtlAsync("status", "c73")).Stdout, Is.EqualTo($"c73 start/running, process {pids[0]}\n"));
    }

    [Test]
    public async Task C74_Kill_sequence()
    {
        var supd = _shared;
        // "echo ready" (not in the case) tells the test the trap is set before it stops the job.
        supd.WriteJob("c74", """
            kill timeout 2
            exec sh -c 'trap "echo got TERM" TERM; echo ready; while true; do sleep 0.1; done'

            """);
        await supd.ReloadJobsAsync();
        var pid = SupdHarness.PidOf((await supd.CtlAsync("start", "c74")).Stdout);
        await supd.WaitForLogAsync("c74", "ready\n");

        var stop = await supd.CtlAsync("stop", "c74");

        Assert.That(stop, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("c74 stop/waiting\n"));
        Assert.That(supd.ReadLog("c74"), Does.Contain("got TERM"), "the shell trapped TERM");
        await DaemonTrace.WaitForEventAsync(supd, "c74", "stopped RESULT=ok");
        var output = supd.DaemonOutput;
        // The order of the kill sequence: TERM to the group, then (supd's wording) the escalation, then KILL.
        var term = DaemonTrace.IndexOf(output, $"supd: c74 sending SIGTERM to process group {pid}");
        var escalation = DaemonTrace.IndexOf(output, $"supd: c74 main process ({pid}) still running 2s after the kill signal; sending SIGKILL to its group");
        var killed = DaemonTrace.IndexOf(output, $"supd: c74 main process ({pid}) killed by signal KILL");
        var stopped = DaemonTrace.IndexOf(output, "supd: Event stopped JOB=c74");
        Assert.That(new[] { term, escalation, killed, stopped }, Is.All.GreaterThanOrEqualTo(0), output);
        Assert.That(new[] { term, escalation, killed, stopped }, Is.Ordered, output);
        Assert.That(Events(supd, "c74"), Is.EqualTo(new[] { "starting", "started", "stopping RESULT=ok", "stopped RESULT=ok" }),
            "killing is never a failure");
        Assert.That(ProcessTable.InGroup(pid), Is.Empty, "the whole group is gone");
    }

    [Test]
    public async Task C76_Partial_match_blocks_the_emitter()
    {
        var supd = _shared;
        // C75's job: started by two events.
        supd.WriteJob("c76", "start on c76-foo and c76-bar\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var emitFoo = supd.CtlAsync("emit", "c76-foo");
        await DaemonTrace.WaitForAsync(supd, "supd: Event c76-foo");
        // An unrelated event emitted (and finished) after foo: foo has been handled by then, and is still held.
        Assert.That((await supd.CtlAsync("emit", "c76-ping")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("status", "c76")).Stdout, Is.EqualTo("c76 stop/waiting\n"));
        Assert.That(emitFoo.IsCompleted, Is.False, "emit foo returned although c76's condition holds it");

        Assert.That((await supd.CtlAsync("emit", "--no-wait", "c76-bar")).ExitCode, Is.EqualTo(0));

        Assert.That(await emitFoo, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
        Assert.That((await supd.CtlAsync("status", "c76")).Stdout, Does.Match(@"^c76 start/running, process \d+\n$"),
            "foo is released when c76, started by foo and bar, reaches running");
    }

    [Test]
    public async Task C77_starting_blocks_the_job()
    {
        var supd = _shared;
        var gate = Path.Combine(supd.Root, "gate-c77x");
        supd.WriteJob("c77x", "exec sleep 1000\n");
        // The case's "exec sleep 1" is a gate: c77y runs until the test opens it.
        supd.WriteJob("c77y", $"start on starting c77x\ntask\nexec {WaitFor(gate)}\n");
        await supd.ReloadJobsAsync();

        var start = supd.CtlAsync("start", "c77x");
        await supd.WaitForStatusAsync("c77y", @"^c77y start/running, process \d+\n$");
        Assert.That((await supd.CtlAsync("status", "c77x")).Stdout, Is.EqualTo("c77x start/starting\n"));
        Assert.That(start.IsCompleted, Is.False);

        Open(gate);
        var started = await start;

        Assert.That(started.Stdout, Does.Match(@"^c77x start/running, process \d+\n$"), started.ToString());
        await DaemonTrace.WaitForEventAsync(supd, "c77x", "started");
        var output = supd.DaemonOutput;
        Assert.That(DaemonTrace.IndexOf(output, "supd: Event stopped JOB=c77y INSTANCE= RESULT=ok"),
            Is.GreaterThanOrEqualTo(0).And.LessThan(DaemonTrace.IndexOf(output, "supd: c77x state changed from starting to")),
            "c77x leaves starting only after c77y has finished");
    }

    [Test]
    public async Task C79_Spawn_failure_vs_shell_failure()
    {
        var supd = _shared;
        supd.WriteJob("c79a", "exec /nonexistent/binary --flag\n");
        supd.WriteJob("c79a-shelly", "exec /nonexistent/binary $HOME\n");
        await supd.ReloadJobsAsync();

        var spawn = await supd.CtlAsync("start", "c79a");
        Assert.That(spawn.ExitCode, Is.EqualTo(1));
        // supd adds the indented reason after initctl's line.
        Assert.That(spawn.Stderr, Is.EqualTo(
            "supctl: Job failed to start\n  c79a: cannot run /nonexistent/binary: No such file or directory\n"));
        await DaemonTrace.WaitForEventAsync(supd, "c79a", "stopped RESULT=failed PROCESS=main");
        Assert.That(supd.DaemonOutput, Does.Contain("supd: Failed to spawn c79a main process: cannot run /nonexistent/binary: No such file or directory\n"));
        Assert.That(Events(supd, "c79a").Where(e => e.StartsWith("stop", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "stopping RESULT=failed PROCESS=main", "stopped RESULT=failed PROCESS=main" }), "no EXIT_STATUS");

        // A shell metacharacter: sh runs the command, so the spawn succeeds and the shell exits 127. (What start
        // prints is C79_Shell_failure_start_prints_stop_waiting.)
        var shell = await supd.CtlAsync("start", "c79a-shelly");
        Assert.That(shell.ExitCode, Is.EqualTo(0), shell.ToString());
        await DaemonTrace.WaitForEventAsync(supd, "c79a-shelly", "stopped RESULT=failed PROCESS=main EXIT_STATUS=127");
        Assert.That(supd.DaemonOutput, Does.Not.Contain("Failed to spawn c79a-shelly"));
    }

    [Test]
    // Deviation: initctl reads the status in a second call after start returns, so whether it says stop/waiting
    // depends on timing. supd answers with the status the job had when it reached running, which is deterministic:
    // the shell was running then. What happened next is in the events and in status right after.
    public async Task C79_Shell_failure_start_reports_running_then_the_job_fails_with_127()
    {
        var supd = _shared;
        supd.WriteJob("c79b-shelly", "exec /nonexistent/binary $HOME\n");
        await supd.ReloadJobsAsync();

        // A shell metacharacter: sh runs the command, so the spawn succeeds and the shell exits 127.
        var shell = await supd.CtlAsync("start", "c79b-shelly");

        Assert.That(shell.ExitCode, Is.EqualTo(0), shell.ToString());
        Assert.That(shell.Stdout, Does.Match(@"^c79b-shelly start/running, process \d+\n$"));
        await DaemonTrace.WaitForEventAsync(supd, "c79b-shelly", "stopped RESULT=failed PROCESS=main EXIT_STATUS=127");
        Assert.That((await supd.CtlAsync("status", "c79b-shelly")).Stdout, Is.EqualTo("c79b-shelly stop/waiting (failed: main process exited with status 127)\n"));
    }

    [Test]
    public async Task C80_Wrong_expect_fork_can_be_stopped_at_once()
    {
        var supd = _shared;
        supd.WriteJob("c80a", "expect fork\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        // Upstart hangs start and stop until the process is killed; supd waits for the fork but stop works at once.
        var start = supd.CtlAsync("start", "c80a");
        var status = await supd.WaitForStatusAsync("c80a", @"^c80a start/spawned, process \d+\n$");
        var pid = SupdHarness.PidOf(status.Stdout);
        Assert.That(start.IsCompleted, Is.False);

        var stop = await supd.CtlAsync("stop", "c80a");

        Assert.That(stop, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("c80a stop/waiting\n"));
        await start;
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(pid), "the sleep to be gone");
        Assert.That((await supd.CtlAsync("status", "c80a")).Stdout, Is.EqualTo("c80a stop/waiting\n"));
    }

    [Test]
    public async Task C80_Wrong_expect_fork_is_supervised_as_it_is_after_10s()
    {
        var supd = _shared;
        supd.WriteJob("c80b", "expect fork\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        // Upstart never returns here; supd gives up waiting for the fork after 10 s and supervises the process.
        var start = supd.CtlAsync("start", "c80b");
        var pid = SupdHarness.PidOf((await supd.WaitForStatusAsync("c80b", @"^c80b start/spawned, process \d+\n$")).Stdout);

        var started = await start.WaitAsync(Long);

        Assert.That(started, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo($"c80b start/running, process {pid}\n"));
        Assert.That((await supd.CtlAsync("status", "c80b")).Stdout, Is.EqualTo(
            $"c80b start/running, process {pid}\n\texpect fork: the main process ({pid}) did not fork and exit within 10s; supervising it as it is\n"));
        Assert.That(ProcessTable.IsAlive(pid), Is.True);
    }

    [Test]
    public async Task C82_restart_with_and_without_pre_stop()
    {
        var supd = _shared;
        supd.WriteJob("withprestop", "pre-stop exec sleep 0.5\nexec sleep 1000\n");
        supd.WriteJob("plain", "exec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var before = SupdHarness.PidOf((await supd.CtlAsync("start", "withprestop")).Stdout);
        var restart = await supd.CtlAsync("restart", "withprestop");
        Assert.That(restart, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo($"withprestop start/running, process {before}\n"),
            "pre-stop runs, then the job returns to running with the same process");
        await Eventually.TrueAsync(() => Regex.IsMatch(supd.DaemonOutput, @"supd: withprestop pre-stop process \(\d+\) started"), "the pre-stop line");
        Assert.That(ProcessTable.IsAlive(before), Is.True);

        var plainBefore = SupdHarness.PidOf((await supd.CtlAsync("start", "plain")).Stdout);
        var plainRestart = await supd.CtlAsync("restart", "plain");
        Assert.That(plainRestart.ExitCode, Is.EqualTo(0), plainRestart.ToString());
        Assert.That(plainRestart.Stdout, Does.Match(@"^plain start/running, process \d+\n$"));
        Assert.That(SupdHarness.PidOf(plainRestart.Stdout), Is.Not.EqualTo(plainBefore).And.Not.Zero);
    }

    [Test]
    public async Task C83_Instances()
    {
        var supd = _shared;
        supd.WriteJob("inst", "instance $NAME\nusage \"inst NAME=<name>\"\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var missing = await supd.CtlAsync("start", "inst");
        // supd's wording: "Unknown parameter" and the usage line on stderr.
        Assert.That(missing, Has.Property("ExitCode").EqualTo(1)
            .And.Property("Stderr").EqualTo("supctl: Unknown parameter: NAME\nUsage: inst NAME=<name>\n"));

        var start = await supd.CtlAsync("start", "inst", "NAME=a");
        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(start.Stdout, Does.Match(@"^inst \(a\) start/running, process \d+\n$"));
        var pid = SupdHarness.PidOf(start.Stdout);

        var again = await supd.CtlAsync("start", "inst", "NAME=a");
        Assert.That(again, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").EqualTo("supctl: Job is already running: inst (a)\n"));

        Assert.That((await supd.CtlAsync("list")).Stdout, Does.Contain($"inst (a) start/running, process {pid}\n"));

        var stop = await supd.CtlAsync("stop", "inst", "NAME=a");
        Assert.That(stop, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("inst stop/waiting\n"));
        // Deviation: Upstart prints "Unknown instance: " with an empty name; supd names the instance.
        var stopAgain = await supd.CtlAsync("stop", "inst", "NAME=a");
        Assert.That(stopAgain, Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown instance: inst (a)\n"));

        var notPair = await supd.CtlAsync("start", "inst", "FOO");
        Assert.That(notPair, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").EqualTo("supctl: Env must be KEY=VALUE pairs\n"));

        var usage = await supd.CtlAsync("usage", "inst");
        Assert.That(usage, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("Usage: inst NAME=<name>\n"));
    }

    [Test]
    public async Task C85_reload()
    {
        var supd = _shared;
        // "echo ready" (not in the case) tells the test the trap is set: before it, USR1 would kill the shell.
        supd.WriteJob("c85", """
            reload signal USR1
            exec sh -c 'trap "echo got USR1" USR1; echo ready; while :; do sleep 0.1; done'

            """);
        await supd.ReloadJobsAsync();
        var pid = SupdHarness.PidOf((await supd.CtlAsync("start", "c85")).Stdout);
        await supd.WaitForLogAsync("c85", "ready\n");

        var reload = await supd.CtlAsync("reload", "c85");

        Assert.That(reload, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty.And.Property("Stderr").Empty);
        await supd.WaitForLogAsync("c85", "got USR1\n");
        Assert.That((await supd.CtlAsync("status", "c85")).Stdout, Is.EqualTo($"c85 start/running, process {pid}\n"));

        Assert.That((await supd.CtlAsync("stop", "c85")).ExitCode, Is.EqualTo(0));
        var reloadStopped = await supd.CtlAsync("reload", "c85");
        // Deviation: Upstart prints "reload: Unknown instance: " with an empty name; supd names the job.
        Assert.That(reloadStopped, Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown instance: c85\n"));
    }

    [Test]
    public async Task C86_Console_log_naming_and_format()
    {
        var supd = _shared;
        supd.WriteJob("net/foo", "instance $IFACE\nscript\n echo hello $IFACE\n sleep 1000\nend script\n");
        supd.WriteJob("quiet", "exec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "net/foo", "IFACE=eth0");
        Assert.That(start.Stdout, Does.Match(@"^net/foo \(eth0\) start/running, process \d+\n$"), start.ToString());
        Assert.That((await supd.CtlAsync("start", "quiet")).ExitCode, Is.EqualTo(0));

        // Deviation: Upstart's net_foo-eth0.log was not injective (job net/foo-eth0 wrote the same file); supd escapes
        // '/' and separates the instance with '@' (JobLogDirectory.FileName).
        var log = Path.Combine(supd.LogDir, "net%2Ffoo@eth0.log");
        await Eventually.TrueAsync(() => File.Exists(log) && File.ReadAllText(log).Length > 0, "net%2Ffoo@eth0.log");
        // Deviation: supd logs through a pipe, not a pty, so there is no CRLF.
        Assert.That(File.ReadAllText(log), Is.EqualTo("hello eth0\n"));

        // Once quiet has stopped, all it ever wrote has been drained: it wrote nothing, so there is no file.
        Assert.That((await supd.CtlAsync("stop", "quiet")).ExitCode, Is.EqualTo(0));
        Assert.That(File.Exists(supd.LogPath("quiet")), Is.False);
        Assert.That(Directory.GetFiles(supd.LogDir, "quiet*"), Is.Empty);
    }

    [Test]
    public async Task C88_Self_triggering_job()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("x", "instance $JOB\nstart on stopped\ntask\nexec true\n");
        // Something has to stop first: seed's stopped event starts x (seed), whose stopped event starts x (x), forever.
        supd.WriteJob("seed", "task\nexec true\n");
        await supd.StartAsync();

        Assert.That((await supd.CtlAsync("start", "seed")).ExitCode, Is.EqualTo(0));

        await Eventually.TrueAsync(() => Events(supd, "x", "x").Count(e => e == "stopped RESULT=ok") >= 5,
            "x (x) to have restarted itself several times", Long);
        Assert.That(Events(supd, "x", "seed"), Does.Contain("stopped RESULT=ok"));

        // Stop the loop; then look at the whole output: supd ran the loop as Upstart does but warned about it, once.
        await supd.TerminateAsync(Long);
        Assert.That(DaemonTrace.Count(supd.DaemonOutput,
            "supd: x is started by its own stopped event: it will start again every time it stops"), Is.EqualTo(1), supd.DaemonOutput);
    }
}
