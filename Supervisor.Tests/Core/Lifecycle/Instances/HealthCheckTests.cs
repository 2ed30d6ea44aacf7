using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// The <c>health</c> stanza on the loop with the fake clock, through every path: a pass, a timeout, N failures that
/// restart the instance through the respawn path, the recovery, the start period, the respawn limit, and that the
/// check runs only while the job runs (never while it is down, and it stops with the job).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HealthCheckTests
{
    private const string Svc = "health exec /bin/probe\nhealth interval 10\nhealth timeout 3\nexec /bin/server\n";

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static async Task<LoopHarness> RunningAsync(string job = Svc)
    {
        var h = await LoopHarness.CreateAsync(("svc", job));
        await h.Loop.StartAsync("svc", []).Within();
        return h;
    }

    private static async Task<int> NextCheckAsync(LoopHarness h)
    {
        var before = h.Processes.PidOf("svc", "health");
        await h.AdvanceAsync(S(10));
        var pid = h.Processes.PidOf("svc", "health");
        Assert.That(pid, Is.Not.Zero.And.Not.EqualTo(before), "a check ran an interval later");
        return pid;
    }

    private static async Task<HealthSnapshot> HealthAsync(LoopHarness h) => (await h.Loop.StatusAsync("svc", [])).Health!;

    [Test]
    public async Task A_passing_check_runs_every_interval_while_the_job_runs_and_keeps_it_healthy()
    {
        await using var h = await RunningAsync();
        Assert.That((await HealthAsync(h)).Status, Is.EqualTo("starting"), "not judged before the first check");
        await h.AdvanceAsync(S(9.9));
        Assert.That(h.Processes.PidOf("svc", "health"), Is.Zero, "the first check is an interval after the start");

        var check = await NextCheckAsync(h);
        var main = h.Processes.PidOf("svc", "main");
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/running, process {main}\n\thealth process {check}"));
        var spawned = h.Processes.Spawns.Last().Request;
        Assert.That(spawned.Environment, Does.Contain("UPSTART_JOB=svc"), "the job's environment");
        h.Processes.Write(check, "ok: 12 connections\n");
        await h.ExitAsync(check, ExitStatus.Exited(0));

        var health = await HealthAsync(h);
        Assert.That(health.Status, Is.EqualTo("healthy"));
        Assert.That(health.LastPassed, Is.True);
        Assert.That(health.LastOutcome, Is.EqualTo("exit 0"));
        Assert.That(health.LastOutput, Is.EqualTo(new[] { "ok: 12 connections" }));
        await NextCheckAsync(h);
        Assert.That(h.Events, Has.None.StartsWith("unhealthy").And.None.StartsWith("healthy"), "no event while nothing changes");
    }

    [Test]
    public async Task Failing_retries_times_in_a_row_makes_it_unhealthy_and_restarts_it_through_the_respawn_path()
    {
        await using var h = await RunningAsync(Svc + "health retries 3\n");
        var oldMain = h.Processes.PidOf("svc", "main");
        for (var i = 1; i <= 2; i++)
        {
            await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
            Assert.That((await HealthAsync(h)).Failures, Is.EqualTo(i));
        }
        Assert.That(h.Processes.SignalsSent, Has.None.Matches<(int Pid, int Signal, bool Group)>(s => s.Pid == oldMain), "not before the third");

        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));

        Assert.That(h.Events, Does.Contain("unhealthy JOB=svc INSTANCE= EXIT_STATUS=1"));
        Assert.That(h.Processes.SignalsSent, Does.Contain((oldMain, Signals.SIGTERM, true)), "the hung main process is stopped");
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/killed, process ").And.Contain("(unhealthy: check failed 3 times)"));
        await h.ExitAsync(oldMain, ExitStatus.Killed(Signals.SIGTERM));

        var newMain = h.Processes.PidOf("svc", "main");
        Assert.That(newMain, Is.Not.EqualTo(oldMain), "started again");
        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That(status.State, Is.EqualTo(JobState.Running));
        Assert.That(status.RespawnCount, Is.EqualTo(1), "counted as a respawn");
        Assert.That(status.StatusLine(), Is.EqualTo($"svc start/running, process {newMain} (unhealthy: check failed 3 times)"),
            "the verdict stands until a check passes");
    }

    [Test]
    public async Task The_first_pass_after_a_restart_emits_healthy_and_clears_the_verdict()
    {
        await using var h = await RunningAsync(Svc + "health retries 1\n");
        var oldMain = h.Processes.PidOf("svc", "main");
        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(2));
        await h.ExitAsync(oldMain, ExitStatus.Killed(Signals.SIGTERM));

        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(0));

        Assert.That(h.Events, Does.Contain("healthy JOB=svc INSTANCE="));
        Assert.That(h.Events.ToList().IndexOf("healthy JOB=svc INSTANCE="), Is.GreaterThan(h.Events.ToList().IndexOf("unhealthy JOB=svc INSTANCE= EXIT_STATUS=2")));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/running, process {h.Processes.PidOf("svc", "main")}"));
        Assert.That((await HealthAsync(h)).Status, Is.EqualTo("healthy"));
    }

    [Test]
    public async Task A_check_that_outlives_its_timeout_is_killed_and_counts_as_a_failure()
    {
        await using var h = await RunningAsync(Svc + "health retries 2\n");
        var check = await NextCheckAsync(h);
        await h.AdvanceAsync(S(2.9));
        Assert.That(h.Processes.SignalsSent, Has.None.Matches<(int Pid, int Signal, bool Group)>(s => s.Pid == check));

        await h.AdvanceAsync(S(0.2));
        Assert.That(h.Processes.SignalsSent, Does.Contain((check, Signals.SIGKILL, true)));
        await h.ExitAsync(check, ExitStatus.Killed(Signals.SIGKILL));

        var health = await HealthAsync(h);
        Assert.That(health.LastOutcome, Is.EqualTo("timed out after 3s"));
        Assert.That(health.Failures, Is.EqualTo(1));
        Assert.That(health.Status, Is.EqualTo("starting"), "one failure of two is no verdict yet");
    }

    [Test]
    public async Task It_never_runs_while_the_job_is_down_and_stops_with_the_job()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Svc));
        await h.AdvanceAsync(S(100));
        Assert.That(h.Processes.Spawns, Is.Empty, "a job that is not started is not checked");

        await h.Loop.StartAsync("svc", []).Within();
        var check = await NextCheckAsync(h);
        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Does.Contain((check, Signals.SIGKILL, true)), "the running check is killed with the stop");
        await h.ExitAsync(check, ExitStatus.Killed(Signals.SIGKILL));
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();

        var spawns = h.Processes.Spawns.Count;
        await h.AdvanceAsync(S(100));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(spawns), "no check once the job is down");
        Assert.That(h.Events, Has.None.StartsWith("unhealthy"), "a check killed by the stop does not count");
    }

    [Test]
    public async Task Failures_within_the_start_period_do_not_count()
    {
        await using var h = await RunningAsync(Svc + "health retries 1\nhealth start-period 25\n");
        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
        Assert.That(h.Events, Has.None.StartsWith("unhealthy"), "at 10 s and 20 s the service is still starting");
        Assert.That((await HealthAsync(h)).Failures, Is.Zero);

        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
        Assert.That(h.Events, Does.Contain("unhealthy JOB=svc INSTANCE= EXIT_STATUS=1"), "at 30 s it counts");
    }

    [Test]
    public async Task Restarts_for_health_are_bounded_by_the_respawn_limit()
    {
        await using var h = await RunningAsync(Svc + "health retries 1\nrespawn limit 2 3600\n");
        for (var restart = 1; restart <= 2; restart++)
        {
            var main = h.Processes.PidOf("svc", "main");
            await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
            await h.ExitAsync(main, ExitStatus.Killed(Signals.SIGTERM));
            Assert.That((await h.Loop.StatusAsync("svc", [])).State, Is.EqualTo(JobState.Running), $"restart {restart}");
        }
        var last = h.Processes.PidOf("svc", "main");
        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
        await h.ExitAsync(last, ExitStatus.Killed(Signals.SIGTERM));

        Assert.That(await h.StatusAsync("svc"), Is.EqualTo(
            "svc stop/waiting (failed: unhealthy: check failed 1 times, last: exit 1; restarted too often, more than 2 times in 3600s)"));
    }

    [Test]
    public async Task A_respawn_delay_delays_the_restart()
    {
        await using var h = await RunningAsync(Svc + "health retries 1\nrespawn delay 5\n");
        var main = h.Processes.PidOf("svc", "main");
        await h.ExitAsync(await NextCheckAsync(h), ExitStatus.Exited(1));
        await h.ExitAsync(main, ExitStatus.Killed(Signals.SIGTERM));

        Assert.That((await h.Loop.StatusAsync("svc", [])).State, Is.EqualTo(JobState.Respawning));
        await h.AdvanceAsync(S(6.1));
        Assert.That((await h.Loop.StatusAsync("svc", [])).State, Is.EqualTo(JobState.Running));
        Assert.That(h.Processes.PidOf("svc", "main"), Is.Not.EqualTo(main));
    }
}
