using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The <c>check</c> stanza on the loop: restart and reload go ahead only when the check exits 0.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class CheckTests
{
    private const string Job = "env CONFIG=/etc/svc.conf\ncheck exec /usr/bin/svc -v $CONFIG\nexec /bin/sleep 100\n";

    [Test]
    public async Task A_passing_check_lets_the_restart_go_ahead()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var oldMain = h.Processes.PidOf("svc", "main");

        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        var check = h.Processes.PidOf("svc", "check");
        Assert.That(check, Is.Not.Zero);
        Assert.That(h.Processes.SignalsSent, Is.Empty, "the running process is untouched while the check runs");
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/running, process {oldMain}\n\tcheck process {check}"));

        await h.ExitAsync(check, ExitStatus.Exited(0));
        Assert.That(h.Processes.SignalsSent, Does.Contain((oldMain, Signals.SIGTERM, true)));
        await h.ExitAsync(oldMain, ExitStatus.Killed(Signals.SIGTERM));

        var status = await restart.Within();
        Assert.That(status!.StatusLine(), Is.EqualTo($"svc start/running, process {h.Processes.PidOf("svc", "main")}"));
        Assert.That(h.Processes.PidOf("svc", "main"), Is.Not.EqualTo(oldMain));
    }

    [Test]
    public async Task The_check_runs_with_the_jobs_environment()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);

        _ = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();

        var request = h.Processes.Spawns.Last().Request;
        Assert.That(request.Description, Is.EqualTo("svc check process"));
        Assert.That(request.Environment, Does.Contain("CONFIG=/etc/svc.conf").And.Contain("UPSTART_JOB=svc"));
        Assert.That(request.Environment.Any(e => e.StartsWith("SUPD_TAG=", StringComparison.Ordinal)), Is.False, "only main carries the tag");
    }

    [Test]
    public async Task A_failing_check_leaves_the_job_running_and_says_why_with_its_output()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var main = h.Processes.PidOf("svc", "main");

        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        var check = h.Processes.PidOf("svc", "check");
        h.Processes.Write(check, "Reading configuration...\nError: unknown directive 'frob' on line 3\n");
        await h.ExitAsync(check, ExitStatus.Exited(1));

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await restart.Within());
        Assert.That(refused!.Error, Is.EqualTo(SupervisorError.CheckFailed));
        Assert.That(refused.Message, Is.EqualTo("svc: check failed (exit 1), not restarted"));
        Assert.That(refused.Details, Is.EqualTo(new[] { "  Reading configuration...", "  Error: unknown directive 'frob' on line 3" }));
        Assert.That(h.Processes.SignalsSent, Is.Empty);
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/running, process {main}"));
    }

    [Test]
    public async Task No_check_skips_it()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var main = h.Processes.PidOf("svc", "main");

        var restart = h.Loop.RestartAsync("svc", [], noCheck: true);
        await h.SettleAsync();
        await h.ExitAsync(main, ExitStatus.Killed(Signals.SIGTERM));
        await restart.Within();

        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "svc main process", "svc main process" }));
    }

    [Test]
    public async Task Reload_sends_its_signal_only_after_the_check_passed()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var main = h.Processes.PidOf("svc", "main");

        var failing = h.Loop.ReloadAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync(h.Processes.PidOf("svc", "check"), ExitStatus.Killed(11));
        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await failing.Within());
        Assert.That(refused!.Message, Is.EqualTo("svc: check failed (killed by signal SEGV), not reloaded"));
        Assert.That(h.Processes.SignalsSent, Is.Empty);

        var passing = h.Loop.ReloadAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync(h.Processes.PidOf("svc", "check"), ExitStatus.Exited(0));
        await passing.Within();
        Assert.That(h.Processes.SignalsSent, Is.EqualTo(new[] { (main, Signals.SIGHUP, true) }));
    }

    [Test]
    public async Task A_check_that_runs_too_long_is_killed_and_fails()
    {
        await using var h = await LoopHarness.CreateAsync(o => o.CheckTimeout = TimeSpan.FromSeconds(30), ("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        var check = h.Processes.PidOf("svc", "check");

        await h.AdvanceAsync(TimeSpan.FromSeconds(29));
        Assert.That(h.Processes.SignalsSent, Is.Empty);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.That(h.Processes.SignalsSent, Is.EqualTo(new[] { (check, Signals.SIGKILL, true) }));
        await h.ExitAsync(check, ExitStatus.Killed(Signals.SIGKILL));

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await restart.Within());
        Assert.That(refused!.Message, Is.EqualTo("svc: check failed (timed out after 30s), not restarted"));
    }

    [Test]
    public async Task A_stop_while_the_check_runs_kills_it_and_refuses_the_restart()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        var main = h.Processes.PidOf("svc", "main");
        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        var check = h.Processes.PidOf("svc", "check");

        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync(main, ExitStatus.Killed(Signals.SIGTERM));

        Assert.That((await stop.Within())!.StatusLine(), Is.EqualTo("svc stop/waiting"));
        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await restart.Within());
        Assert.That(refused!.Message, Is.EqualTo("svc: stopped while its check ran, not restarted"));
        Assert.That(h.Processes.SignalsSent, Does.Contain((check, Signals.SIGKILL, true)));
        await h.ExitAsync(check, ExitStatus.Killed(Signals.SIGKILL));
        Assert.That(h.Processes.Spawns.Count(s => s.Request.Description == "svc main process"), Is.EqualTo(1), "nothing restarted it");
    }

    [Test]
    public async Task A_second_restart_while_the_check_runs_is_refused()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        _ = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.RestartAsync("svc", []).Within());

        Assert.That(refused!.Error, Is.EqualTo(SupervisorError.CheckRunning));
        Assert.That(h.Processes.Spawns.Count(s => s.Request.Description == "svc check process"), Is.EqualTo(1));
    }

    [Test]
    public async Task A_check_that_cannot_run_is_a_failed_check()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Job));
        await h.Loop.StartAsync("svc", []);
        h.Processes.OnSpawn = r => r.Description == "svc check process" ? SpawnResult.Failed("unable to execute: No such file or directory") : null;

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.RestartAsync("svc", []).Within());

        Assert.That(refused!.Message, Is.EqualTo("svc: check failed (could not run: unable to execute: No such file or directory), not restarted"));
        Assert.That((await h.Loop.StatusAsync("svc", [])).LastExit, Is.Null, "a check is not part of the job's life");
    }
}
