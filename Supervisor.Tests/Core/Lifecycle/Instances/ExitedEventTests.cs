using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>supd's <c>exited</c> event (every end of a main process, before what follows it) and the failed status.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ExitedEventTests
{
    private static readonly ExitStatus Failure = ExitStatus.Exited(1);

    [Test]
    public async Task A_crash_that_respawns_is_announced_before_the_respawn()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        await h.ExitAsync("svc", "main", Failure);

        Assert.That(JobEvents(h, "svc"), Is.EqualTo(new[]
        {
            "starting JOB=svc INSTANCE=", "started JOB=svc INSTANCE=",
            $"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_STATUS=1 RESPAWN=yes",
            "stopping JOB=svc INSTANCE= RESULT=ok", "starting JOB=svc INSTANCE=", "started JOB=svc INSTANCE=",
        }));
    }

    [Test]
    public async Task A_crash_without_respawn_says_so_and_names_the_signal()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        await h.ExitAsync("svc", "main", ExitStatus.Killed(11));

        Assert.That(JobEvents(h, "svc").Skip(2), Is.EqualTo(new[]
        {
            $"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_SIGNAL=SEGV RESPAWN=no",
            "stopping JOB=svc INSTANCE= RESULT=failed PROCESS=main EXIT_SIGNAL=SEGV",
            "stopped JOB=svc INSTANCE= RESULT=failed PROCESS=main EXIT_SIGNAL=SEGV",
        }));
    }

    [Test]
    public async Task A_main_process_killed_by_stop_is_announced_too()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexport COLOR\nenv COLOR=red\nexec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");
        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();

        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();

        Assert.That(JobEvents(h, "svc").Skip(3), Is.EqualTo(new[]
        {
            $"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_SIGNAL=TERM RESPAWN=no COLOR=red",
            "stopped JOB=svc INSTANCE= RESULT=ok COLOR=red",
        }));
    }

    [Test]
    public async Task A_job_can_start_on_exited()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("svc", "respawn\nexec /bin/false\n"),
            ("alert", "start on exited svc RESPAWN=yes\ntask\nexec /bin/echo $EXIT_STATUS\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", Failure);

        var alert = h.Processes.Spawns.Single(s => s.Request.Description == "alert main process").Request;
        Assert.That(alert.Environment, Does.Contain("EXIT_STATUS=1").And.Contain("UPSTART_EVENTS=exited"));
    }

    [Test]
    public async Task A_watcher_with_instance_PID_hears_a_second_death_while_its_first_task_still_runs()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("svc", "respawn\nexec /bin/false\n"),
            ("alert", "start on exited svc\ninstance $PID\ntask\nexec /bin/echo $EXIT_STATUS\n"));
        await h.Loop.StartAsync("svc", []);
        var first = h.Processes.PidOf("svc", "main");
        await h.ExitAsync("svc", "main", Failure);
        var second = h.Processes.PidOf("svc", "main");
        Assert.That(second, Is.Not.EqualTo(first), "respawned");

        // The first alert has not finished when the second death comes: a second instance takes it.
        await h.ExitAsync("svc", "main", ExitStatus.Exited(2));

        var alerts = h.Processes.Spawns.Where(s => s.Request.Description.StartsWith("alert", StringComparison.Ordinal)).ToList();
        Assert.That(alerts.Select(s => s.Request.Description), Is.EqualTo(new[] { $"alert ({first}) main process", $"alert ({second}) main process" }));
        Assert.That(alerts[1].Request.Environment, Does.Contain("EXIT_STATUS=2"));
    }

    [Test]
    public async Task The_respawn_limit_emits_stopped_failed_respawn_and_the_job_shows_failed_until_started_again()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit 1 10\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", Failure);
        var pid = h.Processes.PidOf("svc", "main");
        await h.ExitAsync("svc", "main", Failure);

        Assert.That(JobEvents(h, "svc").TakeLast(3), Is.EqualTo(new[]
        {
            $"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_STATUS=1 RESPAWN=no",
            "stopping JOB=svc INSTANCE= RESULT=failed PROCESS=respawn",
            "stopped JOB=svc INSTANCE= RESULT=failed PROCESS=respawn",
        }));
        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That(status.Failure, Is.EqualTo("respawning too fast, more than 1 times in 10s"));
        Assert.That(status.StatusLine(), Is.EqualTo("svc stop/waiting (failed: respawning too fast, more than 1 times in 10s)"));
        Assert.That((await h.Loop.ListAsync()).Single().StatusLine(), Does.StartWith("svc stop/waiting (failed: "));

        var started = await h.Loop.StartAsync("svc", []).Within();

        Assert.That(started!.StatusLine(), Does.Match(@"^svc start/running, process \d+$"));
        Assert.That(started.Failure, Is.Null);
    }

    private static string[] JobEvents(LoopHarness h, string job) =>
        h.Events.Where(e => e.Contains($" JOB={job} ", StringComparison.Ordinal)).ToArray();
}
