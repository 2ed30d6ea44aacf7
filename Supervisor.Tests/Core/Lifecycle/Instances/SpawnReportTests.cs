using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// Spawns through the exec helper on the loop: the pid comes at once, the helper's report later as an input of its own;
/// the step that spawned goes on only then, and a failed report fails the job as a failed spawn does. Meanwhile the
/// loop answers everything else.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class SpawnReportTests
{
    private static async Task<LoopHarness> HelperHarnessAsync(string job)
    {
        var h = await LoopHarness.CreateAsync(("svc", job));
        h.Processes.ThroughHelper = _ => true;
        return h;
    }

    [Test]
    public async Task The_start_waits_in_spawned_for_the_report_while_the_loop_answers_status()
    {
        await using var h = await HelperHarnessAsync("exec /bin/sleep 100\n");

        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        var main = h.Processes.PidOf("svc", "main");
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/spawned, process {main}"), "answered while the report is awaited");
        Assert.That(start.IsCompleted, Is.False);

        h.Processes.Report(main, null, "nice 5: Permission denied");

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo($"svc start/running, process {main}"));
        Assert.That((await h.Loop.StatusAsync("svc", [])).NotApplied, Is.EqualTo(new[] { "nice 5: Permission denied" }));
    }

    [Test]
    public async Task A_failed_report_fails_the_start_as_a_failed_spawn_and_no_exit_is_announced()
    {
        await using var h = await HelperHarnessAsync("exec /bin/sleep 100\n");

        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        h.Processes.Report(h.Processes.PidOf("svc", "main"), "unable to setuid: Operation not permitted");

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: main process failed to spawn: unable to setuid: Operation not permitted" }));
        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That((status.StatusLine(), status.LastExit!.SpawnError), Is.EqualTo(("svc stop/waiting (failed: main process failed to spawn: unable to setuid: Operation not permitted)", "unable to setuid: Operation not permitted")));
        Assert.That(h.Events.Where(e => e.StartsWith("exited", StringComparison.Ordinal)), Is.Empty, "nothing ran, so nothing exited");
    }

    [Test]
    public async Task A_stop_asked_for_while_the_report_is_awaited_goes_ahead_once_it_is_in()
    {
        await using var h = await HelperHarnessAsync("exec /bin/sleep 100\n");
        _ = h.Loop.StartAsync("svc", [], wait: false);
        await h.SettleAsync();
        var main = h.Processes.PidOf("svc", "main");

        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc stop/spawned, process {main}"), "the goal is recorded; the step runs on");
        Assert.That(h.Processes.SignalsSent, Is.Empty);

        h.Processes.Report(main);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Does.Contain((main, Signals.SIGTERM, true)), "then the stop kills what started");
        await h.ExitAsync(main, ExitStatus.Killed(Signals.SIGTERM));
        Assert.That((await stop.Within())!.StatusLine(), Is.EqualTo("svc stop/waiting"));
    }

    [Test]
    public async Task A_pre_start_whose_helper_fails_fails_the_job_and_main_never_runs()
    {
        await using var h = await HelperHarnessAsync("pre-start exec /bin/prepare\nexec /bin/sleep 100\n");

        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        h.Processes.Report(h.Processes.PidOf("svc", "pre-start"), "unable to change root directory: /srv/jail: No such file or directory");

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: pre-start process failed to spawn: unable to change root directory: /srv/jail: No such file or directory" }));
        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "svc pre-start process" }));
    }

    [Test]
    public async Task A_check_whose_helper_fails_refuses_the_restart()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "check exec /usr/bin/svc -t\nexec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        h.Processes.ThroughHelper = r => r.Description == "svc check process";

        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        h.Processes.Report(h.Processes.PidOf("svc", "check"), "unable to setgid: Operation not permitted");

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await restart.Within())!;
        Assert.That(refused.Message, Is.EqualTo("svc: check failed (could not run: unable to setgid: Operation not permitted), not restarted"));
    }
}

/// <summary>
/// The event queue in slices (<see cref="SupervisorOptions.EventPollSlice"/>): a long cascade lets the inputs that
/// arrive meanwhile in, and still ends where running it in one go would.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class EventSliceTests
{
    [Test]
    public async Task A_status_asked_during_a_long_cascade_is_answered_before_the_cascade_ends_and_the_cascade_completes()
    {
        var jobs = Enumerable.Range(1, 60).Select(i => ($"j{i}", "start on go\nexec /bin/sleep 100\n")).ToArray();
        // The smallest slice: one event per turn of the loop.
        await using var h = await LoopHarness.CreateAsync(o => o.EventPollSlice = TimeSpan.Zero, jobs);

        var emit = h.Loop.EmitAsync("go", [], wait: true);
        var during = await h.Loop.ListAsync().Within();

        Assert.That(during.Count(s => s.StatusLine().Contains("start/running", StringComparison.Ordinal)),
            Is.LessThan(60), "answered between two slices, not after the 60 starts");
        await emit.Within();
        var after = await h.Loop.ListAsync().Within();
        Assert.That(after.Count(s => s.StatusLine().Contains("start/running", StringComparison.Ordinal)), Is.EqualTo(60));
        Assert.That(h.Events.Count(e => e.StartsWith("started ", StringComparison.Ordinal)), Is.EqualTo(60), "every job's started, once");
    }

    [Test]
    public async Task A_status_goes_before_the_inputs_queued_ahead_of_it()
    {
        await using var h = await LoopHarness.CreateAsync(o => o.QueriesFirst = true,
            ("svc", "respawn\nexec /bin/sleep 100\n"), ("gate", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var first = h.Processes.PidOf("svc", "main");
        // The loop is held inside gate's spawn while svc's exit and a status request queue up behind it.
        using var held = new ManualResetEventSlim();
        h.Processes.OnSpawn = r => r.Description == "gate main process" && !held.Wait(LoopHarness.Bound) ? throw new TimeoutException() : null;
        _ = h.Loop.StartAsync("gate", [], wait: false);
        h.Processes.Exit(first, ExitStatus.Killed(Signals.SIGKILL));
        var status = h.Loop.StatusAsync("svc", []);
        held.Set();

        Assert.That((await status.Within()).StatusLine(), Is.EqualTo($"svc start/running, process {first}"), "answered before the exit queued ahead");
        var after = await Eventually.GetAsync(async () => (await h.Loop.StatusAsync("svc", [])).StatusLine(),
            line => line != $"svc start/running, process {first}" && line.Contains("start/running", StringComparison.Ordinal), "then the respawn");
        Assert.That(after, Is.EqualTo($"svc start/running, process {h.Processes.PidOf("svc", "main")}"));
    }
}
