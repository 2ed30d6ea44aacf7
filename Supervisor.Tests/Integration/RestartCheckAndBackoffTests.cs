using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 4, end to end with the real supd and supctl: the check before restart/reload, the exited event, the failed
/// status, and the respawn delay measured on the job's own start times.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class RestartCheckAndBackoffTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // The tests about one job of their own share one supd: a JIT supd's start and warm-up cost more CPU than such a test.
    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Test]
    public async Task A_failing_check_leaves_the_old_pid_running_and_no_check_restarts_it()
    {
        var supd = _shared;
        var config = Path.Combine(supd.Root, "nagios.cfg");
        File.WriteAllText(config, "broken\n");
        supd.WriteJob("nagios", $$"""
            env CONFIG={{config}}
            check script
                echo "checking $CONFIG as $UPSTART_JOB"
                grep -q '^good$' "$CONFIG" || { echo "Error: $(cat "$CONFIG") on line 1"; exit 1; }
            end script
            exec sleep 1000

            """);
        await supd.ReloadJobsAsync();
        Assert.That((await supd.CtlAsync("start", "nagios")).ExitCode, Is.EqualTo(0));
        var first = await supd.MainPidAsync("nagios");

        var restart = await supd.CtlAsync("restart", "nagios");

        Assert.That(restart.ExitCode, Is.EqualTo(1), restart.ToString());
        Assert.That(restart.Stderr, Is.EqualTo(
            $"supctl: nagios: check failed (exit 1), not restarted\n  checking {config} as nagios\n  Error: broken on line 1\n"));
        Assert.That(await supd.MainPidAsync("nagios"), Is.EqualTo(first), "the running process is untouched");
        await supd.WaitForLogAsync("nagios", $"checking {config} as nagios\n");

        var reload = await supd.CtlAsync("reload", "nagios");
        Assert.That(reload.ExitCode, Is.EqualTo(1), reload.ToString());
        Assert.That(reload.Stderr, Does.StartWith("supctl: nagios: check failed (exit 1), not reloaded\n"));

        var forced = await supd.CtlAsync("restart", "--no-check", "nagios");
        Assert.That(forced.ExitCode, Is.EqualTo(0), forced.ToString());
        var second = SupdHarness.PidOf(forced.Stdout);
        Assert.That(second, Is.Not.Zero.And.Not.EqualTo(first));

        File.WriteAllText(config, "good\n");
        var checkedRestart = await supd.CtlAsync("restart", "nagios");
        Assert.That(checkedRestart.ExitCode, Is.EqualTo(0), checkedRestart.ToString());
        Assert.That(SupdHarness.PidOf(checkedRestart.Stdout), Is.Not.Zero.And.Not.EqualTo(second));
    }

    [Test]
    public async Task Exited_is_emitted_before_the_respawn_and_a_job_can_start_on_it()
    {
        await using var supd = new SupdHarness();
        var once = Path.Combine(supd.Root, "crashed-once");
        supd.WriteJob("flaky", $"respawn\nexec sh -c 'if [ -e {once} ]; then exec sleep 1000; fi; touch {once}; exit 3'\n");
        supd.WriteJob("alert", """
            start on exited flaky
            task
            script
                echo "flaky exited status=$EXIT_STATUS respawn=$RESPAWN"
            end script

            """);
        await supd.StartAsync();

        Assert.That((await supd.CtlAsync("start", "flaky")).ExitCode, Is.EqualTo(0));

        await supd.WaitForLogAsync("alert", "flaky exited status=3 respawn=yes\n");
        await supd.WaitForStatusAsync("flaky", @"^flaky start/running, process \d+\n$");
        var lines = DaemonTrace.Lines(supd.DaemonOutput).ToList();
        var exited = lines.FindIndex(l => Regex.IsMatch(l, @"supd: Event exited JOB=flaky INSTANCE= PROCESS=main PID=\d+ EXIT_STATUS=3 RESPAWN=yes$"));
        var respawnStopping = lines.FindIndex(l => l.Contains("supd: Event stopping JOB=flaky INSTANCE= RESULT=ok", StringComparison.Ordinal));
        Assert.That(exited, Is.GreaterThanOrEqualTo(0), supd.DaemonOutput);
        Assert.That(respawnStopping, Is.GreaterThan(exited), "exited comes before the respawn's own events");

        // A stop ends the main process too: announced with RESPAWN=no.
        Assert.That((await supd.CtlAsync("stop", "flaky")).ExitCode, Is.EqualTo(0));
        await supd.WaitForLogAsync("alert", "flaky exited status= respawn=no\n");
        Assert.That(DaemonTrace.ExitedEvents(supd.DaemonOutput, "flaky").Select(e => Regex.Replace(e, @" PID=\d+", "")),
            Is.EqualTo(new[] { "PROCESS=main EXIT_STATUS=3 RESPAWN=yes", "PROCESS=main EXIT_SIGNAL=TERM RESPAWN=no" }));
    }

    [Test]
    public async Task Respawn_delays_grow_and_reset_after_a_stable_run()
    {
        var supd = _shared;
        var trace = Path.Combine(supd.Root, "trace");
        var stable = Path.Combine(supd.Root, "stay-up");
        // respawn delay 0.25 2: 0.25, 0.5, 1, 2, 2… and a run of 2 s or more resets it to 0.25.
        supd.WriteJob("flappy", $"""
            respawn
            respawn limit unlimited
            respawn delay 0.25 2
            script
                echo "start $(date +%s.%N)" >> {trace}
                if [ -e {stable} ]; then rm {stable}; echo long >> {trace}; sleep 3; fi
                echo "exit $(date +%s.%N)" >> {trace}
                exit 1
            end script

            """);
        await supd.ReloadJobsAsync();
        Assert.That((await supd.CtlAsync("start", "flappy")).ExitCode, Is.EqualTo(0));

        await Eventually.TrueAsync(() => Runs(trace).Count >= 5, "five runs", Long);
        // While the delay runs, status says so and when the next start is due.
        await supd.WaitForStatusAsync("flappy", @"^flappy start/respawning, next in \d+\.\ds\n$", Long);
        File.WriteAllText(stable, "");
        await Eventually.TrueAsync(() => Runs(trace).SkipWhile(r => !r.Long).Count() >= 3, "a long run and two more after it", Long);
        Assert.That((await supd.CtlAsync("stop", "flappy")).ExitCode, Is.EqualTo(0));

        var runs = Runs(trace);
        var delays = runs.Zip(runs.Skip(1), (previous, next) => next.Start - previous.Exit).ToList();
        var longRun = runs.FindIndex(r => r.Long);
        var summary = string.Join(", ", delays.Select(d => d.ToString("0.00", CultureInfo.InvariantCulture)));
        // A timer never fires early: each delay is at least its lower bound (MIN doubled per crash, at most MAX).
        for (var i = 0; i < longRun; i++) Assert.That(delays[i], Is.GreaterThanOrEqualTo(Math.Min(0.25 * Math.Pow(2, i), 2)), summary);
        Assert.That(delays[0], Is.LessThan(delays[3]), $"the delay grew: {summary}");
        // After the long run (3 s, more than MAX) the delay is back to MIN: well under MAX, then doubling again.
        Assert.That(delays[longRun], Is.InRange(0.25, 1.9), $"reset after the stable run: {summary}");
        Assert.That(delays[longRun + 1], Is.GreaterThanOrEqualTo(0.5), summary);
    }

    [Test]
    public async Task Start_cuts_a_daemon_wide_respawn_delay_short()
    {
        await using var supd = new SupdHarness();
        var starts = Path.Combine(supd.Root, "starts");
        supd.WriteJob("slowpoke", $"respawn\nexec sh -c 'echo started >> {starts}; sleep 0.2; exit 1'\n");
        supd.StartSupdWith(
            ["--job-dir", supd.JobDir, "--socket", supd.Socket, "--log-dir", supd.LogDir, "--state-dir", supd.StateDir],
            new Dictionary<string, string> { ["SUPD_RESPAWNDELAY"] = "600" });
        await supd.WaitForAnswerAsync();
        Assert.That((await supd.CtlAsync("start", "slowpoke")).ExitCode, Is.EqualTo(0));

        await supd.WaitForStatusAsync("slowpoke", @"^slowpoke start/respawning, next in \d+\.\ds\n$");
        var start = await supd.CtlAsync("start", "slowpoke");

        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        Assert.That(start.Stdout, Does.Match(@"^slowpoke start/running, process \d+\n$"));
        await Eventually.TrueAsync(() => File.ReadAllLines(starts).Length == 2, "the second run, started at once");
        Assert.That((await supd.CtlAsync("stop", "slowpoke")).ExitCode, Is.EqualTo(0));
    }

    [Test]
    public async Task The_nagios_sample_checks_before_restarting_and_its_alert_hears_every_death()
    {
        await using var supd = new SupdHarness();
        var config = Path.Combine(supd.Root, "nagios.cfg");
        File.WriteAllText(config, "good\n");
        // The sample as shipped, with a stand-in for nagios3 (-v checks the file) and echo for logger.
        var nagios = supd.WriteScript("nagios3", """
            if [ "$1" = -v ]; then grep -q '^good$' "$2" && exit 0; echo "Error in $2"; exit 1; fi
            exec sleep 100000

            """);
        string Sample(string name) => File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "samples", "beyond", name + ".conf"))
            .Replace("/usr/sbin/nagios3", nagios, StringComparison.Ordinal)
            .Replace("/etc/nagios3/nagios.cfg", config, StringComparison.Ordinal)
            .Replace("logger -t nagios-alert", "echo", StringComparison.Ordinal);
        supd.WriteJob("nagios", Sample("nagios"));
        supd.WriteJob("nagios-alert", Sample("nagios-alert"));
        await supd.StartAsync();
        var first = SupdHarness.PidOf((await supd.WaitForStatusAsync("nagios", @"^nagios start/running, process \d+\n$")).Stdout);

        File.WriteAllText(config, "bad\n");
        var refused = await supd.CtlAsync("restart", "nagios");
        Assert.That(refused.Stderr, Is.EqualTo($"supctl: nagios: check failed (exit 1), not restarted\n  Error in {config}\n"));
        Assert.That(await supd.MainPidAsync("nagios"), Is.EqualTo(first));

        File.WriteAllText(config, "good\n");
        var restarted = await supd.CtlAsync("restart", "nagios");
        Assert.That(restarted.ExitCode, Is.EqualTo(0), restarted.ToString());
        await AlertSaysAsync("nagios main process ended: status TERM, respawn no\n");

        // Killed behind supd's back: respawned after the delay, and the alert says so.
        var second = SupdHarness.PidOf(restarted.Stdout);
        SupdHarness.Signal(second, 9);
        await AlertSaysAsync("nagios main process ended: status KILL, respawn yes\n");
        await Eventually.GetAsync(() => supd.MainPidAsync("nagios"), pid => pid != 0 && pid != second, "nagios respawned", Long);

        // The alert has an instance per death (instance $PID), each with its own log: nagios-alert@PID.log.
        Task AlertSaysAsync(string line) => Eventually.TrueAsync(
            () => Directory.GetFiles(supd.LogDir, "nagios-alert@*.log").Any(f => File.ReadAllText(f).Contains(line, StringComparison.Ordinal)),
            $"'{line.TrimEnd()}' in a nagios-alert@PID.log");
    }

    [Test]
    public async Task A_bad_daemon_wide_respawn_delay_is_refused_at_start_up_with_the_setting_named()
    {
        await using var supd = new SupdHarness();
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, """{ "RespawnDelay": "60 1" }""");

        var refused = supd.StartSupd("--config", config);
        await refused.WaitForExitAsync();

        Assert.That(refused.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Does.Contain("supd: RespawnDelay is not \"MIN [MAX]\" in seconds with 0 < MIN <= MAX (like \"1 60\"): 60 1"));
    }

    private sealed record Run(double Start, double Exit, bool Long);

    /// <summary>The complete runs in the job's trace (start, optional "long", exit lines).</summary>
    private static List<Run> Runs(string trace)
    {
        var runs = new List<Run>();
        if (!File.Exists(trace)) return runs;
        double? start = null;
        var isLong = false;
        foreach (var line in File.ReadAllLines(trace))
        {
            var words = line.Split(' ');
            if (words[0] == "start") (start, isLong) = (Seconds(words[1]), false);
            else if (words[0] == "long") isLong = true;
            else if (words[0] == "exit" && start is { } began) runs.Add(new Run(began, Seconds(words[1]), isLong));
        }
        return runs;
    }

    private static double Seconds(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
