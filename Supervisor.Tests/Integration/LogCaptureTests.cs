using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 8 end to end: every byte of a job's output captured, rotated, followed, and shown where the user looks
/// (supctl start's error, supctl show, supctl log), with the real supd and supctl.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed partial class LogCaptureTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // The tests about one job of their own share one supd: a JIT supd's start and warm-up cost more CPU than such a test.
    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    [Test]
    public async Task A_failing_pre_start_explains_itself_in_the_start_error_and_in_its_log()
    {
        var supd = _shared;
        supd.WriteJob("nagios", """
            pre-start script
                echo "checking /etc/nagios.cfg"
                echo "error: line 12: unknown directive 'frobnicate'" >&2
                exit 3
            end script
            exec sleep 1000
            """);
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "nagios");

        Assert.That(start.ExitCode, Is.EqualTo(1), start.ToString());
        Assert.That(start.Stderr, Is.EqualTo(
            "supctl: Job failed to start\n" +
            "  nagios: pre-start process exited with status 3\n" +
            "    checking /etc/nagios.cfg\n" +
            "    error: line 12: unknown directive 'frobnicate'\n"));
        await supd.WaitForLogAsync("nagios", "checking /etc/nagios.cfg\nerror: line 12: unknown directive 'frobnicate'\n");

        var show = await supd.CtlAsync("show", "nagios");
        Assert.That(show.ExitCode, Is.EqualTo(0), show.ToString());
        Assert.That(show.Stdout, Does.Match(@"State: stop/waiting since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"));
        Assert.That(show.Stdout, Does.Match(@"Last exit: pre-start process \d+ exited with status 3, "));
        Assert.That(show.Stdout, Does.Contain("Failure: pre-start process exited with status 3\n"));
        Assert.That(show.Stdout, Does.Contain($"Log: {supd.LogPath("nagios")}\n"));
        Assert.That(show.Stdout, Does.EndWith("Last 2 log lines:\n  checking /etc/nagios.cfg\n  error: line 12: unknown directive 'frobnicate'\n"));
    }

    [Test]
    public async Task Rotation_under_a_fast_writer_loses_no_line_and_splits_none()
    {
        var supd = _shared;
        supd.WriteJob("fast", "task\nlog rotate 64K 100\nexec seq 1 100000\n");
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "fast")).ExitCode, Is.EqualTo(0));
        string[] Files() => Directory.GetFiles(supd.LogDir, "fast.log*")
            .OrderByDescending(f => f.EndsWith(".log", StringComparison.Ordinal) ? 0 : int.Parse(f[(f.LastIndexOf('.') + 1)..], CultureInfo.InvariantCulture))
            .ToArray();
        // Between a rotation's rename and the next write there is no fast.log: read what is there, else look again.
        string? Current() { try { return File.ReadAllText(supd.LogPath("fast")); } catch (FileNotFoundException) { return null; } }
        await Eventually.TrueAsync(() => Current()?.EndsWith("100000\n", StringComparison.Ordinal) == true, "the last line");

        var files = Files();
        Assert.That(files, Has.Length.GreaterThan(5));
        foreach (var file in files)
        {
            // A line the pump read in two pieces across the limit finishes in the old file (JobLogFile's
            // LineOvershoot): a file may pass 64 KiB by the rest of one line, here at most "100000\n".
            Assert.That(new FileInfo(file).Length, Is.LessThanOrEqualTo(64 * 1024 + "100000\n".Length), file);
            Assert.That(File.ReadAllText(file), Does.EndWith("\n"), file);
        }
        var numbers = files.SelectMany(File.ReadAllLines).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(1, 100000)));
    }

    [Test]
    public async Task Log_follow_sees_every_line_across_rotations_until_ctrl_c()
    {
        await using var supd = new SupdHarness();
        // ~60-byte lines, 2 KiB files: a rotation every ~35 lines.
        supd.WriteJob("ticker", """
            start on startup
            log rotate 2K 3
            script
                n=0
                while true; do n=$((n + 1)); echo "tick $n ..................................................."; sleep 0.01; done
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForLogAsync("ticker", "tick ");

        using var follower = CtlWatcher.Start(supd, "log", "-f", "-n", "1", "ticker");
        int[] Seen() =>
            TickNumber().Matches(string.Join('\n', follower.Lines)).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();

        await Eventually.TrueAsync(() => Seen().Length >= 200, "200 lines through the follower");
        var seen = Seen();
        Assert.That(seen, Is.EqualTo(Enumerable.Range(seen[0], seen.Length)), "every line once, in order, across rotations");
        Assert.That(File.Exists(supd.LogPath("ticker") + ".3"), Is.True, "the log rotated meanwhile");

        SupdHarness.Signal(follower.Process.Id, 2); // Ctrl-C
        using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await follower.Process.WaitForExitAsync(exited.Token);
        Assert.That(follower.Process.ExitCode, Is.EqualTo(130), "ended by SIGINT, as tail -f is");
    }

    [Test]
    public async Task Log_follow_shows_a_new_line_promptly()
    {
        await using var supd = new SupdHarness();
        var trigger = Path.Combine(supd.Root, "go");
        supd.WriteJob("quiet", $$"""
            start on startup
            script
                echo ready
                while true; do if [ -e {{trigger}} ]; then rm {{trigger}}; echo "fresh line"; fi; sleep 0.02; done
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForLogAsync("quiet", "ready\n");

        using var follower = CtlWatcher.Start(supd, "log", "-f", "quiet");
        string Output() => string.Concat(follower.Lines.Select(l => l + "\n"));
        await Eventually.TrueAsync(() => Output() == "ready\n", "the follower's first line");

        File.WriteAllText(trigger, "");
        await supd.WaitForLogAsync("quiet", "fresh line\n");
        // The follower polls every 200 ms; the bound is generous for a loaded machine.
        await Eventually.TrueAsync(() => Output() == "ready\nfresh line\n", "the new line through the follower", TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task A_child_that_left_the_jobs_group_is_captured_while_it_runs_and_ended_with_the_job()
    {
        var supd = _shared;
        // The child leaves the job's process group (setsid), so the SIGKILL that follows the main process's exit misses
        // it; its output is still the job's, and since issue 19 (no strays) it does not outlive the job: a task that
        // finished ends what it left, in cgroup mode and in process-group mode (found through the start's tag).
        var child = Path.Combine(supd.Root, "child.pid");
        supd.WriteJob("parent", $"task\nexec /bin/sh -c 'setsid /bin/sh -c \"echo from the child; echo \\$\\$ > {child}.tmp; mv {child}.tmp {child}; exec sleep 1000\" & while [ ! -e {child} ]; do sleep 0.05; done; echo \"main done\"'\n");
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "parent")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("status", "parent")).Stdout, Is.EqualTo("parent stop/waiting\n"));

        await supd.WaitForLogAsync("parent", "from the child\n");
        Assert.That(supd.ReadLog("parent"), Does.Contain("main done\n"));
        var pid = int.Parse(File.ReadAllText(child).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(pid), "the setsid'd child ended with its job");
    }

    [Test]
    public async Task Every_line_goes_to_stdout_with_the_job_name_and_daemon_wide_settings_apply()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("web", "start on startup\nexec /bin/sh -c 'echo listening on :80; echo oops >&2; sleep 1000'\n");
        supd.StartSupdWith(
            ["--job-dir", supd.JobDir, "--socket", supd.Socket, "--log-dir", supd.LogDir, "--state-dir", supd.StateDir, "--log-to-stdout"],
            new Dictionary<string, string> { ["SUPD_LOGTIMESTAMPS"] = "true", ["SUPD_LOGROTATESIZE"] = "1K", ["SUPD_LOGROTATECOUNT"] = "2" });

        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("web| oops\n", StringComparison.Ordinal), "web's lines on supd's stdout");
        Assert.That(supd.DaemonOutput, Does.Contain("web| listening on :80\n"));
        await Eventually.TrueAsync(() => supd.ReadLog("web").Split('\n').Length >= 3, "two lines in web.log");
        Assert.That(supd.ReadLog("web"), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d listening on :80\n\d{4}-\S+ oops\n$"));
    }

    [Test]
    public async Task Show_has_the_main_process_respawns_last_exit_and_log_lines()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("crashy", "description \"Crashes on demand\"\nstart on startup\nrespawn\nexec /bin/sh -c 'echo started; exec sleep 1000'\n");
        await supd.StartAsync();
        var first = SupdHarness.PidOf((await supd.WaitForStatusAsync("crashy", "start/running, process")).Stdout);
        await supd.WaitForLogAsync("crashy", "started\n");

        SupdHarness.Signal(first, 11);
        var second = SupdHarness.PidOf((await supd.WaitForStatusAsync("crashy", $"start/running, process (?!{first}\\b)")).Stdout);
        await supd.WaitForLogAsync("crashy", "started\nstarted\n");
        // The shell writes "started" before it execs sleep: show names what runs, so wait for the exec itself.
        await ProcessTable.WaitForProgramAsync(second, "sleep", "the respawned main process");

        var show = await supd.CtlAsync("show", "crashy");
        Assert.That(show.ExitCode, Is.EqualTo(0), show.ToString());
        var text = show.Stdout;
        Assert.That(text, Does.StartWith("crashy - Crashes on demand\n"));
        Assert.That(text, Does.Contain($"Job file: {Path.Combine(supd.JobDir, "crashy.conf")}\n"));
        Assert.That(text, Does.Match(@"State: start/running since .+ ago\)\n"));
        Assert.That(text, Does.Match($@"Main PID: {second} \(sleep 1000\), up \S+"));
        Assert.That(text, Does.Contain("Respawns: 1\n"));
        Assert.That(text, Does.Match($@"Last exit: main process {first} killed by signal SEGV, "));
        Assert.That(text, Does.EndWith("Last 2 log lines:\n  started\n  started\n"));
        Assert.That((await supd.CtlAsync("status", "crashy")).Stdout, Is.EqualTo($"crashy start/running, process {second}\n"));
    }

    [Test]
    public async Task An_unwritable_log_counts_dropped_bytes_the_job_keeps_running_and_the_log_recovers()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root: chattr +i makes the log unwritable even for root");
        if (!File.Exists("/usr/bin/chattr")) Assert.Ignore("chattr is not installed");
        await using var supd = new SupdHarness();
        supd.WriteJob("chatty", """
            start on startup
            script
                n=0
                while true; do n=$((n + 1)); echo "line $n"; sleep 0.02; done
            end script
            """);
        await supd.StartAsync();
        await supd.WaitForLogAsync("chatty", "line 3\n");
        var pid = await supd.MainPidAsync("chatty");
        var log = supd.LogPath("chatty");

        if (!await Chattr("+i", log, supd.LogDir)) Assert.Ignore("this filesystem does not support chattr +i");
        try
        {
            var dropped1 = await Eventually.GetAsync(() => DroppedAsync(supd), n => n > 0, "dropped bytes in supctl show");
            await Eventually.GetAsync(() => DroppedAsync(supd), n => n > dropped1, "the count to grow");
            Assert.That(await supd.MainPidAsync("chatty"), Is.EqualTo(pid), "the job keeps running, unblocked");
            await Eventually.TrueAsync(() => supd.DaemonOutput.Contains($"Cannot write job log {log}: Operation not permitted", StringComparison.Ordinal), "the warning");
        }
        finally
        {
            await Chattr("-i", log, supd.LogDir);
        }

        var size = new FileInfo(log).Length;
        await Eventually.TrueAsync(() => new FileInfo(log).Length > size, "new lines once the log is writable again");
        await Eventually.TrueAsync(() => Regex.IsMatch(supd.DaemonOutput, $@"Job log {Regex.Escape(log)} is writable again; \d+ bytes were dropped meanwhile"), "the recovery line");
        Assert.That(Regex.Matches(supd.DaemonOutput, "Cannot write job log").Count, Is.EqualTo(1), "one warning per episode");
        Assert.That(await supd.MainPidAsync("chatty"), Is.EqualTo(pid));
    }

    [Test]
    public async Task Log_needs_read_on_the_job_not_access_to_the_log_directory()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root: to run supctl as nobody (setpriv)");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Ignore("setpriv is not installed");
        await using var supd = new SupdHarness();
        supd.WriteJob("web", "start on startup\nexec /bin/sh -c 'echo served; exec sleep 1000'\n");
        supd.WriteJob("db", "start on startup\nexec /bin/sh -c 'echo secret; exec sleep 1000'\n");
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED); // 0755: nobody reaches the socket, not the 0700 log dir
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, """
            { "SocketMode": "0666", "Access": { "Rules": [ { "User": "nobody", "Jobs": ["web"], "Rights": ["read"] } ] } }
            """);
        await supd.StartAsync("--config", config);
        await supd.WaitForLogAsync("web", "served\n");
        await supd.WaitForLogAsync("db", "secret\n");
        File.SetUnixFileMode(supd.LogDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Task<CtlResult> AsNobody(params string[] args) => SupdHarness.RunCtlAsync("/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", Binaries.Supctl, "--socket", supd.Socket, .. args]);
        var web = await AsNobody("log", "web");
        Assert.That(web, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("served\n"));
        var db = await AsNobody("log", "db");
        Assert.That(db.ExitCode, Is.EqualTo(77));
        Assert.That(db.Stderr, Is.EqualTo("supctl: permission denied: nobody may not log db (needs read)\n"));
    }

    private static async Task<long> DroppedAsync(SupdHarness supd)
    {
        var match = Regex.Match((await supd.CtlAsync("show", "chatty")).Stdout, @"\((\d+) bytes dropped");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<bool> Chattr(string flag, params string[] paths) =>
        (await SupdHarness.RunCtlAsync("/usr/bin/chattr", [flag, .. paths])).ExitCode == 0;

    [GeneratedRegex(@"tick (\d+) ")]
    private static partial Regex TickNumber();
}
