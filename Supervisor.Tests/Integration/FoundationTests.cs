using System.Diagnostics;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// The Foundation's vertical slice, as a user drives it: real supd, real supctl, real processes. Tests that need no supd
/// of their own (no full list, no signal to or setting of supd, no start-up of their own) share one, each with its own
/// job names, starting their jobs themselves (a job a reload adds sees no startup event): a JIT supd's start and
/// warm-up cost more CPU than such a test costs itself.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class FoundationTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private const string Ticker = """
        respawn
        start on startup
        script
            while true; do echo "tick $$"; sleep 1; done
        end script
        """;

    // The same ticker for the shared supd, which a test starts itself: a job added by a reload sees no startup event.
    private static readonly string ManualTicker = Ticker.Replace("start on startup\n", "", StringComparison.Ordinal);

    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    [Test]
    public async Task Status_of_a_running_job_prints_initctls_line()
    {
        var supd = _shared;
        supd.WriteJob("ticker", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("ticker");

        var status = await supd.WaitForStatusAsync("ticker", @"^ticker start/running, process \d+\n$");
        Assert.That(status.ExitCode, Is.EqualTo(0));
        Assert.That(ProcessTable.IsAlive(SupdHarness.PidOf(status.Stdout)), Is.True);
    }

    [Test]
    public async Task The_daemon_under_test_is_the_build_this_fixture_names()
    {
        var supd = _shared;
        supd.WriteJob("build-ticker", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("build-ticker");
        await supd.WaitForStatusAsync("build-ticker", "start/running");

        // The JIT build loads the runtime (libcoreclr.so); a NativeAOT binary carries its own and loads none.
        var exe = new FileInfo($"/proc/{supd.SupdPid}/exe").LinkTarget;
        var maps = File.ReadAllText($"/proc/{supd.SupdPid}/maps");
        Assert.That(exe, Is.EqualTo(Binaries.Supd));
        Assert.That(maps.Contains("libcoreclr.so", StringComparison.Ordinal), Is.EqualTo(!Flavor.IsNative), $"{Flavor} supd at {exe}");
        Assert.That(File.Exists(Path.ChangeExtension(Binaries.Supctl, ".dll")), Is.EqualTo(!Flavor.IsNative), Binaries.Supctl);
        Assert.That((await supd.CtlAsync("version")).ExitCode, Is.EqualTo(0));
        // The shipped binary needs only glibc (a slim container has no OpenSSL): loading and running a job, and
        // answering supctl, must not pull libssl in (a SHA-256 of the job files once did).
        if (Flavor.IsNative)
            Assert.That(File.ReadAllText($"/proc/{supd.SupdPid}/maps"), Does.Not.Contain("libssl").And.Not.Contain("libcrypto"));
    }

    [Test]
    public async Task Supd_holds_no_file_watches()
    {
        var supd = _shared;
        supd.WriteJob("watchless", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("watchless");
        await supd.WaitForStatusAsync("watchless", "start/running");

        // The host's default appsettings source once put a recursive watcher on the content root ("/"): 45 000 inotify
        // watches, twice the start-up time of 1000 jobs and 50 MB more. supd reads its configuration once.
        var watches = Directory.GetFiles($"/proc/{supd.SupdPid}/fdinfo").Sum(InotifyWatches);
        Assert.That(watches, Is.Zero);

        static int InotifyWatches(string fdinfo)
        {
            try { return File.ReadLines(fdinfo).Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal)); }
            catch (IOException) { return 0; } // the fd closed meanwhile
        }
    }

    [Test]
    public async Task A_SIGKILLed_respawning_job_comes_back_with_a_new_pid()
    {
        var supd = _shared;
        supd.WriteJob("killed-ticker", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("killed-ticker");
        var first = SupdHarness.PidOf((await supd.WaitForStatusAsync("killed-ticker", "start/running, process")).Stdout);

        SupdHarness.Signal(first, 9);

        var next = await Eventually.GetAsync(() => supd.MainPidAsync("killed-ticker"), pid => pid != 0 && pid != first, "a new ticker pid");
        Assert.That(ProcessTable.IsAlive(next), Is.True);
        await supd.WaitForLogAsync("killed-ticker", $"tick {next}");
        await DaemonTrace.WaitForAsync(supd, "killed-ticker main process ended, respawning");
    }

    [Test]
    public async Task Stop_ends_the_job_and_its_children_and_start_brings_it_back()
    {
        var supd = _shared;
        supd.WriteJob("family", """
            script
                sleep 1000 &
                sleep 1000 &
                wait
            end script
            """);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("family");
        var pid = SupdHarness.PidOf((await supd.WaitForStatusAsync("family", "start/running")).Stdout);
        await Eventually.TrueAsync(() => ProcessTable.InGroup(pid).Count == 3, "the shell and its two sleeps");

        var stop = await supd.CtlAsync("stop", "family");

        Assert.That(stop, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("family stop/waiting\n"));
        await Eventually.TrueAsync(() => ProcessTable.InGroup(pid).Count == 0, "every process of the job's group to be gone");

        var start = await supd.CtlAsync("start", "family");
        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(start.Stdout, Does.Match(@"^family start/running, process \d+\n$"));
        Assert.That(SupdHarness.PidOf(start.Stdout), Is.Not.EqualTo(pid));
    }

    [Test]
    public async Task Emit_helloworld_puts_the_event_variables_in_the_jobs_log()
    {
        var supd = _shared;
        supd.WriteJob("helloworld", "start on helloworld\nexec env\n");
        await supd.ReloadJobsAsync();

        var emit = await supd.CtlAsync("emit", "helloworld", "foo=bar", "baz=fizz");

        Assert.That(emit, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
        await supd.WaitForLogAsync("helloworld", "UPSTART_INSTANCE=");
        var log = supd.ReadLog("helloworld");
        Assert.That(log, Does.Contain("foo=bar\n").And.Contain("baz=fizz\n")
            .And.Contain("UPSTART_EVENTS=helloworld\n").And.Contain("UPSTART_JOB=helloworld\n")
            .And.Contain($"PATH={supd.StateDir}/bin:/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin\n")
            .And.Contain($"SUPD_SOCKET={supd.Socket}\n"));
        Assert.That(log, Does.Not.Contain("DOTNET_").And.Not.Contain("SUPD_TEST_ONLY"), "supd's own environment must not leak into jobs");
    }

    [Test]
    public async Task Unknown_job_is_refused_with_exit_1()
    {
        var supd = _shared;
        await supd.ReloadJobsAsync();

        foreach (var verb in new[] { "status", "start", "stop", "restart" })
        {
            var result = await supd.CtlAsync(verb, "foo");
            Assert.That(result, Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown job: foo\n"), verb);
        }
    }

    [Test]
    public async Task Starting_a_running_job_says_it_is_already_running()
    {
        var supd = _shared;
        supd.WriteJob("running-ticker", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("running-ticker");
        await supd.WaitForStatusAsync("running-ticker", "start/running");

        var result = await supd.CtlAsync("start", "running-ticker");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Is.EqualTo("supctl: Job is already running: running-ticker\n"));
    }

    [Test]
    public async Task Stopping_a_stopped_job_is_refused_as_an_unknown_instance()
    {
        var supd = _shared;
        supd.WriteJob("idle", "exec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var result = await supd.CtlAsync("stop", "idle");

        Assert.That(result.ExitCode, Is.EqualTo(4), "no such instance (issue 18's exit table; initctl said 1)");
        // Upstart prints "Unknown instance: " with an empty name here (spec §12.12); supd names the job.
        Assert.That(result.Stderr, Is.EqualTo("supctl: Unknown instance: idle\n"));
    }

    [Test]
    public async Task SIGTERM_to_supd_stops_every_job_and_leaves_no_process_behind()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("ticker", Ticker);
        supd.WriteJob("stubborn", """
            start on startup
            kill timeout 1
            script
                trap '' TERM
                sleep 1000 &
                while true; do sleep 1; done
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForStatusAsync("ticker", "start/running");
        await supd.WaitForStatusAsync("stubborn", "start/running");
        await Eventually.TrueAsync(() => ProcessTable.WithEnvironment(supd.Marker).Count >= 4, "the jobs and their children");

        var exitCode = await supd.TerminateAsync();

        Assert.That(exitCode, Is.EqualTo(0), supd.DaemonOutput);
        Assert.That(ProcessTable.WithEnvironment(supd.Marker), Is.Empty, "job processes left after supd exited");
    }

    [Test]
    public async Task A_malformed_job_file_is_reported_and_the_others_still_load()
    {
        await using var supd = new SupdHarness();
        var bad = supd.WriteJob("broken", "description \"broken\"\nfrobnicate yes\nexec sleep 1\n");
        supd.WriteJob("ticker", Ticker);
        await supd.StartAsync();

        await supd.WaitForStatusAsync("ticker", "start/running");
        var list = await supd.CtlAsync("list");
        Assert.That(list.Stdout, Does.Contain("ticker start/running").And.Not.Contain("broken"));
        // The marker env line comes first, so the bad stanza is on line 3.
        Assert.That(supd.DaemonOutput, Does.Contain($"{bad}:3: Unknown stanza"));
        Assert.That(File.ReadAllText(Path.Combine(supd.LogDir, "supd.log")), Does.Contain($"{bad}:3: Unknown stanza"));
        var status = await supd.CtlAsync("status", "broken");
        Assert.That(status.Stderr, Is.EqualTo("supctl: Unknown job: broken\n"));
    }

    [Test]
    public async Task A_task_start_waits_until_it_has_run()
    {
        var supd = _shared;
        supd.WriteJob("once", "task\nexec echo ran-once\n");
        await supd.ReloadJobsAsync();

        var result = await supd.CtlAsync("start", "once");

        Assert.That(result, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("once stop/waiting\n"));
        await supd.WaitForLogAsync("once", "ran-once\n");
    }

    [Test]
    public async Task Hooks_run_around_the_main_process_and_their_output_reaches_the_log()
    {
        var supd = _shared;
        supd.WriteJob("hooked", """
            pre-start exec echo pre-start-ran
            exec sleep 1000
            post-stop script
                echo "post-stop-ran $UPSTART_JOB"
            end script
            """);
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "hooked")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("stop", "hooked")).ExitCode, Is.EqualTo(0));

        await supd.WaitForLogAsync("hooked", "post-stop-ran hooked\n");
        Assert.That(supd.ReadLog("hooked"), Does.StartWith("pre-start-ran\n"));
    }

    [Test]
    public async Task A_failing_pre_start_fails_the_start_with_the_reason()
    {
        var supd = _shared;
        supd.WriteJob("picky", "pre-start exec false\nexec sleep 1000\n");
        await supd.ReloadJobsAsync();

        var result = await supd.CtlAsync("start", "picky");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Is.EqualTo("supctl: Job failed to start\n  picky: pre-start process exited with status 1\n"));
        // supd adds the failure after initctl's status line, until the job is next started.
        Assert.That((await supd.CtlAsync("status", "picky")).Stdout,
            Is.EqualTo("picky stop/waiting (failed: pre-start process exited with status 1)\n"));
    }

    [Test]
    public async Task A_program_that_does_not_exist_fails_to_spawn_with_the_reason()
    {
        var supd = _shared;
        supd.WriteJob("ghost", "exec /nonexistent/program --flag\n");
        await supd.ReloadJobsAsync();

        var result = await supd.CtlAsync("start", "ghost");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Stderr, Is.EqualTo(
            "supctl: Job failed to start\n  ghost: cannot run /nonexistent/program: No such file or directory\n"));
    }

    [Test]
    public async Task A_job_that_respawns_too_fast_is_stopped()
    {
        var supd = _shared;
        supd.WriteJob("crashy", "respawn\nrespawn limit 3 60\nexec false\n");
        await supd.ReloadJobsAsync();

        // As with Upstart, start returns once the service has reached running; the crash loop follows.
        var result = await supd.CtlAsync("start", "crashy");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());

        await supd.WaitForStatusAsync("crashy", @"^crashy stop/waiting \(failed: respawning too fast, more than 3 times in 60s\)\n$");
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("crashy respawning too fast"), "the runaway message");
        Assert.That(supd.DaemonOutput.Split('\n').Count(l => l.Contains("crashy main process ended, respawning")), Is.EqualTo(3));
    }

    [Test]
    public async Task Restart_replaces_the_main_process()
    {
        var supd = _shared;
        supd.WriteJob("restarted-ticker", ManualTicker);
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("restarted-ticker");
        var before = SupdHarness.PidOf((await supd.WaitForStatusAsync("restarted-ticker", "start/running")).Stdout);

        var result = await supd.CtlAsync("restart", "restarted-ticker");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var after = SupdHarness.PidOf(result.Stdout);
        Assert.That(after, Is.Not.EqualTo(before).And.Not.Zero);
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(before), "the old main process to be gone");
    }

    [Test]
    public async Task List_shows_every_job()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("b-ticker", Ticker);
        supd.WriteJob("a-idle", "exec sleep 1000\n");
        supd.WriteJob("net/apache", "exec sleep 1000\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("b-ticker", "start/running");

        var list = await supd.CtlAsync("list");

        Assert.That(list.Stdout, Does.Match(@"^a-idle stop/waiting\nb-ticker start/running, process \d+\nnet/apache stop/waiting\n$"));
    }

    [Test]
    public async Task A_second_supd_on_the_same_socket_refuses_to_start()
    {
        await using var supd = new SupdHarness();
        await supd.StartAsync();

        using var second = supd.StartSupd();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await second.WaitForExitAsync(cts.Token);

        Assert.That(second.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Does.Contain($"supd: another supd is already running on {supd.Socket}"));
        Assert.That((await supd.CtlAsync("list")).ExitCode, Is.EqualTo(0), "the first supd keeps serving");
    }

    [Test]
    public async Task A_stale_socket_left_by_a_dead_supd_is_replaced()
    {
        await using var first = new SupdHarness();
        await first.StartAsync();
        SupdHarness.Signal(first.SupdPid, 9);
        await first.SupdProcess!.WaitForExitAsync();
        Assert.That(File.Exists(first.Socket), Is.True, "a SIGKILLed supd leaves its socket file");

        await first.StartAsync();

        Assert.That((await first.CtlAsync("version")).Stdout, Does.StartWith("supd (supd "));
    }

    [Test]
    public async Task Orphans_of_a_job_are_reaped_so_no_zombie_stays_behind()
    {
        await using var supd = new SupdHarness();
        // Each run leaves a background child behind in a new session (as a daemon would), then exits.
        supd.WriteJob("forker", """
            task
            exec setsid sh -c 'sleep 0.2 & exit 0'
            """);
        await supd.StartAsync();

        for (var run = 0; run < 5; run++)
            Assert.That((await supd.CtlAsync("start", "forker")).ExitCode, Is.EqualTo(0));

        await Eventually.TrueAsync(() => ProcessTable.WithEnvironment(supd.Marker).Count == 0, "the orphaned sleeps to end");
        await Eventually.TrueAsync(
            () => !ProcessTable.AllPids().Any(pid => ProcessTable.Stat(pid) is { State: 'Z' } s && s.ParentPid == supd.SupdPid),
            "no zombie children of supd");
        Assert.That(ProcessTable.Stat(supd.SupdPid)!.Value.State, Is.Not.EqualTo('Z'));
    }

    [Test]
    public async Task Settings_come_from_supd_json_and_SUPD_environment_variables_and_flags_win()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("ticker", Ticker);
        var jsonLogDir = Path.Combine(supd.Root, "json-log");
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, $$"""
            { "JobDirs": ["{{supd.JobDir}}"], "LogDir": "{{jsonLogDir}}", "StateDir": "{{supd.Root}}/json-state" }
            """);
        var socket = Path.Combine(supd.Root, "env.sock");

        supd.StartSupdWith(["--config", config, "--state-dir", supd.StateDir], new Dictionary<string, string>
        {
            ["SUPD_SOCKET"] = socket,
            ["SUPD_STATEDIR"] = Path.Combine(supd.Root, "env-state"),
        });
        var status = await Eventually.GetAsync(
            () => SupdHarness.RunCtlAsync(Binaries.Supctl, ["--socket", socket, "status", "ticker"]),
            r => r.Stdout.Contains("start/running"), "supd on the socket from SUPD_SOCKET", TimeSpan.FromSeconds(60));

        Assert.That(status.ExitCode, Is.EqualTo(0));
        Assert.That(File.Exists(Path.Combine(jsonLogDir, "supd.log")), Is.True, "LogDir from supd.json");
        Assert.That(Directory.Exists(supd.StateDir), Is.True, "--state-dir wins over SUPD_STATEDIR and supd.json");
        Assert.That(Directory.Exists(Path.Combine(supd.Root, "env-state")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(supd.Root, "json-state")), Is.False);
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(jsonLogDir, "ticker.log")), "the job log in the configured dir");
    }

    [Test]
    public async Task A_missing_config_file_given_by_flag_is_a_one_line_error()
    {
        await using var supd = new SupdHarness();
        var missing = Path.Combine(supd.Root, "nope.json");

        using var process = supd.StartSupd("--config", missing);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);

        Assert.That(process.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Is.EqualTo($"supd: configuration file not found: {missing}\n"));
    }

    [Test]
    public async Task Supctl_without_a_daemon_fails_at_once_with_the_path()
    {
        var socket = Path.Combine("/tmp", "supd-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");

        var result = await SupdHarness.RunCtlAsync(Binaries.Supctl, ["--socket", socket, "list"], TimeSpan.FromSeconds(30));

        Assert.That(result.ExitCode, Is.EqualTo(69), "EX_UNAVAILABLE (issue 18's exit table)");
        Assert.That(result.Stderr, Is.EqualTo($"supctl: cannot connect to supd at {socket}: No such file or directory (is supd running?)\n"));
    }

    [Test]
    public async Task Supctl_usage_errors_exit_2()
    {
        var missingJob = await SupdHarness.RunCtlAsync(Binaries.Supctl, ["status"]);
        var unknownVerb = await SupdHarness.RunCtlAsync(Binaries.Supctl, ["frobnicate"]);

        Assert.That(missingJob.ExitCode, Is.EqualTo(2));
        Assert.That(unknownVerb.ExitCode, Is.EqualTo(2));
        Assert.That(unknownVerb.Stderr, Is.EqualTo("supctl: unknown verb 'frobnicate'\n"));
    }

    [Test]
    public async Task Supctl_finds_supd_through_SUPD_SOCKET()
    {
        await using var supd = new SupdHarness();
        await supd.StartAsync();
        var info = new ProcessStartInfo(Binaries.Supctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("version");
        info.Environment["SUPD_SOCKET"] = supd.Socket;

        using var process = Process.Start(info)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.That(process.ExitCode, Is.EqualTo(0));
        Assert.That(stdout, Does.StartWith("supd (supd 0."));
    }
}
