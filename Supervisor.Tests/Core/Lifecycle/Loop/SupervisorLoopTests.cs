using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The supervision loop's behaviour (spec §7–§8), with fake processes and a fake clock.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class SupervisorLoopTests
{
    private static readonly ExitStatus Ok = ExitStatus.Exited(0);
    private static readonly ExitStatus Failure = ExitStatus.Exited(1);

    [Test]
    public async Task Start_spawns_the_main_process_and_reports_running()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));

        var status = await h.Loop.StartAsync("svc", []);

        var pid = h.Processes.PidOf("svc", "main");
        Assert.That(status!.StatusLine(), Is.EqualTo($"svc start/running, process {pid}"));
        var request = h.Processes.Spawns.Single().Request;
        Assert.That(request.File, Is.EqualTo("/bin/sleep"));
        Assert.That(request.Arguments, Is.EqualTo(new[] { "/bin/sleep", "100" }));
        Assert.That(request.WorkingDirectory, Is.EqualTo("/"));
        Assert.That(request.Environment.SkipLast(1), Is.EqualTo(new[]
        {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin", "TERM=linux", "UPSTART_JOB=svc", "UPSTART_INSTANCE=",
        }));
        Assert.That(request.Environment[^1], Does.Match(@"^SUPD_TAG=[0-9a-f]{32}$"), "the main process carries the instance's tag (128 random bits)");
    }

    [Test]
    public async Task Commands_with_shell_characters_and_scripts_run_under_sh_e()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("piped", "exec env | sort\n"),
            ("scripted", "script\n  echo one\n  echo two\nend script\n"));

        await h.Loop.StartAsync("piped", [], wait: false);
        await h.Loop.StartAsync("scripted", [], wait: false);

        var piped = h.Processes.Spawns[0].Request;
        var scripted = h.Processes.Spawns[1].Request;
        Assert.That(piped.Arguments, Is.EqualTo(new[] { "/bin/sh", "-e", "-c", "exec env | sort", "/bin/sh" }));
        Assert.That(scripted.Arguments, Is.EqualTo(new[] { "/bin/sh", "-e", "-c", "echo one\necho two\n", "/bin/sh" }));
    }

    [Test]
    public async Task A_respawning_service_is_spawned_again_when_it_dies()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var first = h.Processes.PidOf("svc", "main");

        await h.ExitAsync(first, ExitStatus.Killed(Signals.SIGKILL));

        var second = h.Processes.PidOf("svc", "main");
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc start/running, process {second}"));
        Assert.That((await h.Loop.StatusAsync("svc", [])).RespawnCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Exit_0_of_a_respawning_service_counts_as_a_crash()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexec /bin/true\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", Ok);

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Normal_exit_stops_a_respawning_service_instead()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nnormal exit 0 3 TERM\nexec /bin/true\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", ExitStatus.Exited(3));

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(1));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc stop/waiting"));
    }

    [Test]
    public async Task Respawn_limit_stops_the_job_when_it_dies_too_often_in_the_window()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit 3 10\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        // respawn limit 3 10 allows 3 respawns (4 runs) in the window.
        for (var run = 1; run <= 4; run++) await h.ExitAsync("svc", "main", Failure);

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(4));
        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That(status.StatusLine(), Is.EqualTo("svc stop/waiting (failed: respawning too fast, more than 3 times in 10s)"));
        Assert.That(status.Failure, Is.EqualTo("respawning too fast, more than 3 times in 10s"));
    }

    [Test]
    public async Task The_respawn_window_starts_again_after_its_interval()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit 2 10\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        for (var crash = 0; crash < 6; crash++)
        {
            await h.ExitAsync("svc", "main", Failure);
            await h.AdvanceAsync(TimeSpan.FromSeconds(6));
        }

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(7));
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));
    }

    [Test]
    public async Task Respawn_limit_unlimited_never_gives_up()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit unlimited\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        for (var crash = 0; crash < 50; crash++) await h.ExitAsync("svc", "main", Failure);

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(51));
    }

    [Test]
    public async Task Stop_signals_the_process_group_and_escalates_to_SIGKILL_after_the_kill_timeout()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "kill timeout 3\nkill signal USR1\nexec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Is.EqualTo(new[] { (pid, Signals.SIGUSR1, true) }));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo($"svc stop/killed, process {pid}"));

        await h.AdvanceAsync(TimeSpan.FromSeconds(2.9));
        Assert.That(h.Processes.SignalsSent, Has.Count.EqualTo(1), "no SIGKILL before the timeout");
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.2));
        Assert.That(h.Processes.SignalsSent, Does.Contain((pid, Signals.SIGKILL, true)));
        Assert.That(stop.IsCompleted, Is.False);

        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGKILL));
        Assert.That((await stop.Within())!.StatusLine(), Is.EqualTo("svc stop/waiting"));
    }

    [Test]
    public async Task A_process_that_exits_on_the_kill_signal_is_not_killed_again_later()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");
        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();

        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGTERM));
        await stop.WaitAsync(LoopHarness.Bound);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));

        // TERM to the group, then SIGKILL once to sweep whatever the main process left in its group; no timer SIGKILL.
        Assert.That(h.Processes.SignalsSent, Is.EqualTo(new[] { (pid, Signals.SIGTERM, true), (pid, Signals.SIGKILL, true) }));
    }

    [Test]
    public async Task Hooks_run_in_upstarts_order()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", """
            pre-start exec /bin/true
            post-start exec /bin/true
            exec /bin/sleep 100
            pre-stop exec /bin/true
            post-stop exec /bin/true
            """));

        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/pre-start, process"));
        await h.ExitAsync("svc", "pre-start", Ok);
        Assert.That(await h.StatusAsync("svc"), Does.Match(@"^svc start/post-start, process \d+\n\tpost-start process \d+$"));
        await h.ExitAsync("svc", "post-start", Ok);
        Assert.That((await start.Within())!.StatusLine(), Does.StartWith("svc start/running"));

        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc stop/pre-stop"));
        await h.ExitAsync("svc", "pre-stop", Ok);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc stop/post-stop, process"));
        await h.ExitAsync("svc", "post-stop", Ok);
        await stop.WaitAsync(LoopHarness.Bound);

        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[]
        {
            "svc pre-start process", "svc main process", "svc post-start process", "svc pre-stop process", "svc post-stop process",
        }));
    }

    [Test]
    public async Task A_failing_pre_start_fails_the_start_and_runs_no_main_process()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "pre-start exec /bin/false\nexec /bin/sleep 100\npost-stop exec /bin/true\n"));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();

        await h.ExitAsync("svc", "pre-start", ExitStatus.Exited(3));
        await h.ExitAsync("svc", "post-stop", Ok);

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Error, Is.EqualTo(SupervisorError.JobFailedToStart));
        Assert.That(failure.Message, Is.EqualTo("Job failed to start"));
        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: pre-start process exited with status 3" }));
        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "svc pre-start process", "svc post-stop process" }));
    }

    [Test]
    public async Task A_failed_start_says_what_the_failing_process_wrote_last()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "pre-start exec /bin/false\nexec /bin/sleep 100\n"));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();

        var output = h.Processes.Spawns.Single().Request.Output!;
        output.Write(System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(1, 12).Select(i => $"line {i}\n")) + "no newline"));
        await h.ExitAsync("svc", "pre-start", ExitStatus.Exited(3));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: pre-start process exited with status 3" }
            .Concat(Enumerable.Range(4, 9).Select(i => $"    line {i}")).Append("    no newline")));
    }

    [Test]
    public async Task A_failed_emit_names_the_job_that_failed_and_its_output()
    {
        await using var h = await LoopHarness.CreateAsync(("t", "start on go\ntask\nexec /bin/false\n"));
        var emit = h.Loop.EmitAsync("go", []);
        await h.SettleAsync();

        h.Processes.Spawns.Single().Request.Output!.Write("cannot reach the database\n"u8);
        await h.ExitAsync("t", "main", ExitStatus.Killed(11));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await emit.WaitAsync(LoopHarness.Bound))!;
        Assert.That(failure.Error, Is.EqualTo(SupervisorError.EventFailed));
        Assert.That(failure.Details, Is.EqualTo(new[] { "  t: main process killed by signal SEGV", "    cannot reach the database" }));
    }

    [Test]
    public async Task A_spawn_failure_of_the_main_process_fails_the_start()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        h.Processes.OnSpawn = _ => SpawnResult.Failed("cannot run /usr/bin/svc: No such file or directory");

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("svc", []))!;

        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: cannot run /usr/bin/svc: No such file or directory" }));
        Assert.That((await h.Loop.StatusAsync("svc", [])).LastExit!.SpawnError, Is.EqualTo("cannot run /usr/bin/svc: No such file or directory"));
    }

    [Test]
    public async Task Starting_a_task_waits_until_it_has_finished()
    {
        await using var h = await LoopHarness.CreateAsync(("job", "task\nexec /bin/true\n"));

        var start = h.Loop.StartAsync("job", []);
        await h.SettleAsync();
        Assert.That(start.IsCompleted, Is.False);
        await h.ExitAsync("job", "main", Ok);

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("job stop/waiting"));
    }

    [Test]
    public async Task Start_and_stop_refuse_what_is_already_done()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);

        var again = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("svc", []))!;
        Assert.That(again.Message, Is.EqualTo("Job is already running: svc"));

        var unknown = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("nope", []))!;
        Assert.That((unknown.Error, unknown.Message), Is.EqualTo((SupervisorError.UnknownJob, "Unknown job: nope")));

        var badEnv = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("svc", ["NOEQUALS"]))!;
        Assert.That(badEnv.Message, Is.EqualTo("Env must be KEY=VALUE pairs"));
    }

    [Test]
    public async Task Start_variables_enter_the_job_environment()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "env A=default\nenv B=kept\nexec /bin/sleep 100\n"));

        await h.Loop.StartAsync("svc", ["A=given", "C=new"]);

        Assert.That(h.Processes.Spawns.Single().Request.Environment, Is.SupersetOf(new[] { "A=given", "B=kept", "C=new" }));
        Assert.That(h.Processes.Spawns.Single().Request.Environment, Does.Not.Contain("UPSTART_EVENTS=").And.Not.Contain("A=default"));
    }

    [Test]
    public async Task An_and_condition_fires_once_both_events_came_and_passes_their_variables()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "start on foo and bar\nexec /bin/sleep 100\n"));

        await h.Loop.EmitAsync("foo", ["A=1", "X=foo"], wait: false);
        await h.SettleAsync();
        Assert.That(h.Processes.Spawns, Is.Empty);
        await h.Loop.EmitAsync("bar", ["A=2"], wait: false);
        await h.SettleAsync();

        var environment = h.Processes.Spawns.Single().Request.Environment;
        Assert.That(environment, Is.SupersetOf(new[] { "A=2", "X=foo", "UPSTART_EVENTS=foo bar" }));
    }

    [Test]
    public async Task Event_arguments_match_positionally_and_by_name()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("multi", "start on runlevel [2345]\nexec /bin/sleep 100\n"),
            ("single", "start on runlevel RUNLEVEL=S\nexec /bin/sleep 100\n"),
            ("notone", "start on runlevel RUNLEVEL!=1\nexec /bin/sleep 100\n"));

        await h.Loop.EmitAsync("runlevel", ["RUNLEVEL=2", "PREVLEVEL=N"]);

        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "multi main process", "notone main process" }));
    }

    [Test]
    public async Task Emit_waits_until_the_services_it_started_are_running()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "start on go\npre-start exec /bin/true\nexec /bin/sleep 100\n"));

        var emit = h.Loop.EmitAsync("go", []);
        await h.SettleAsync();
        Assert.That(emit.IsCompleted, Is.False, "the service is still in pre-start");
        await h.ExitAsync("svc", "pre-start", Ok);

        await emit.WaitAsync(LoopHarness.Bound);
    }

    [Test]
    public async Task Emit_reports_a_failed_task_and_the_failed_event_follows()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("check", "start on boom\ntask\nexec /bin/false\n"),
            ("alert", "start on boom/failed\ntask\nexec /bin/true\n"));

        var emit = h.Loop.EmitAsync("boom", []);
        await h.SettleAsync();
        await h.ExitAsync("check", "main", ExitStatus.Exited(2));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await emit.WaitAsync(LoopHarness.Bound))!;
        Assert.That((failure.Error, failure.Message), Is.EqualTo((SupervisorError.EventFailed, "Event failed")));
        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "check main process", "alert main process" }));
    }

    [Test]
    public async Task A_starting_event_blocks_the_job_until_the_tasks_it_started_have_finished()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("prepare", "start on starting svc\ntask\nexec /bin/true\n"),
            ("svc", "exec /bin/sleep 100\n"));

        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "prepare main process" }));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc start/starting"));

        await h.ExitAsync("prepare", "main", Ok);
        await start.WaitAsync(LoopHarness.Bound);

        Assert.That(h.Processes.SpawnOrder, Is.EqualTo(new[] { "prepare main process", "svc main process" }));
    }

    [Test]
    public async Task Stop_on_stops_a_running_job_and_passes_the_stop_event_to_post_stop()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "stop on quit\nexec /bin/sleep 100\npost-stop exec /bin/true\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        await h.Loop.EmitAsync("quit", ["MODE=graceful"], wait: false);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Does.Contain((pid, Signals.SIGTERM, true)));
        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGTERM));

        var postStop = h.Processes.Spawns.Last().Request;
        Assert.That(postStop.Description, Is.EqualTo("svc post-stop process"));
        Assert.That(postStop.Environment, Is.SupersetOf(new[] { "MODE=graceful", "UPSTART_STOP_EVENTS=quit" }));
    }

    [Test]
    public async Task Restart_stops_and_starts_the_same_instance()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var first = h.Processes.PidOf("svc", "main");

        var restart = h.Loop.RestartAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync(first, ExitStatus.Killed(Signals.SIGTERM));

        var second = h.Processes.PidOf("svc", "main");
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That((await restart.Within())!.StatusLine(), Is.EqualTo($"svc start/running, process {second}"));
    }

    [Test]
    public async Task Reload_sends_the_reload_signal_to_the_main_process_group()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "reload signal USR1\nexec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        await h.Loop.ReloadAsync("svc", []).Within();

        Assert.That(h.Processes.SignalsSent, Is.EqualTo(new[] { (pid, Signals.SIGUSR1, true) }));
        var stop = h.Loop.StopAsync("svc", []);
        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();
        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.ReloadAsync("svc", []).Within())!;
        Assert.That(refused.Message, Is.EqualTo("Unknown instance: svc"));
    }

    [Test]
    public async Task Instances_are_named_by_their_variables()
    {
        await using var h = await LoopHarness.CreateAsync(("tty", "instance $TTY\nexec /sbin/getty $TTY\n"));

        await h.Loop.StartAsync("tty", ["TTY=tty1"]);
        await h.Loop.StartAsync("tty", ["TTY=tty2"]);

        var list = (await h.Loop.ListAsync()).Select(s => s.StatusLine()).ToArray();
        Assert.That(list, Has.Length.EqualTo(2));
        Assert.That(list[0], Does.StartWith("tty (tty1) start/running"));
        Assert.That(list[1], Does.StartWith("tty (tty2) start/running"));
        var again = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("tty", ["TTY=tty1"]))!;
        Assert.That(again.Message, Is.EqualTo("Job is already running: tty (tty1)"));
    }

    [Test]
    public async Task Shutdown_stops_every_job_and_then_completes()
    {
        await using var h = await LoopHarness.CreateAsync(("a", "exec /bin/sleep 100\n"), ("b", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("a", []);
        await h.Loop.StartAsync("b", []);

        var shutdown = h.Loop.ShutdownAsync();
        await h.SettleAsync();
        Assert.That(shutdown.IsCompleted, Is.False);
        await h.ExitAsync("a", "main", ExitStatus.Killed(Signals.SIGTERM));
        await h.ExitAsync("b", "main", ExitStatus.Killed(Signals.SIGTERM));

        await shutdown.WaitAsync(LoopHarness.Bound);
        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("a", []))!;
        Assert.That(refused.Error, Is.EqualTo(SupervisorError.ShuttingDown));
    }
}
