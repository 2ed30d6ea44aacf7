using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 17, end to end with the real supd and supctl: a stop by hand is no ban (only the next supd's boot events pass
/// it by), disable/enable, show saying why a job is stopped, restart's environment and failure message, instance jobs.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class UpstartSemanticsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // The tests about one job of their own share one supd: a JIT supd's start and warm-up cost more CPU than such a test.
    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    [Test]
    public async Task An_event_after_a_stop_by_hand_starts_the_job_again()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "start on foo\nexec sleep 300\n");
        await supd.StartAsync();
        Assert.That((await supd.CtlAsync("emit", "foo")).ExitCode, Is.EqualTo(0));
        await supd.WaitForStatusAsync("svc", "^svc start/running");

        Assert.That((await supd.CtlAsync("stop", "svc")).Stdout, Is.EqualTo("svc stop/waiting\n"));
        Assert.That((await supd.CtlAsync("show", "svc")).Stdout, Does.Contain($"Stopped: by hand, by {Environment.UserName} (uid "));

        Assert.That((await supd.CtlAsync("emit", "foo")).ExitCode, Is.EqualTo(0));
        await supd.WaitForStatusAsync("svc", "^svc start/running");
    }

    [Test]
    public async Task After_a_restart_of_supd_its_boot_events_do_not_start_a_job_stopped_by_hand_but_a_later_event_does()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("held", "start on filesystem\nexec sleep 300\n");
        supd.WriteJob("witness", "start on filesystem\nexec sleep 300\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("held", "^held start/running");
        Assert.That((await supd.CtlAsync("stop", "held")).ExitCode, Is.EqualTo(0));
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));

        await supd.StartAsync();

        // The boot is over once the job started by the same boot event runs.
        await supd.WaitForStatusAsync("witness", "^witness start/running");
        Assert.That((await supd.CtlAsync("status", "held")).Stdout, Is.EqualTo("held stop/waiting\n"));
        Assert.That((await supd.CtlAsync("show", "held")).Stdout, Does.Match(@"Stopped: by hand, by \S+ \(uid \d+\) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, before supd restarted"));
        Assert.That(supd.DaemonOutput, Does.Contain("held was stopped by hand before supd restarted: not started by the boot events"));

        // The same event, emitted after the boot, acts as usual.
        Assert.That((await supd.CtlAsync("emit", "filesystem")).ExitCode, Is.EqualTo(0));
        await supd.WaitForStatusAsync("held", "^held start/running");
    }

    [Test]
    public async Task Disable_keeps_events_from_starting_a_job_across_restarts_until_enable()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "start on startup or foo\nexec sleep 300\n");
        supd.WriteJob("witness", "start on startup\nexec sleep 300\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("svc", "^svc start/running");
        Assert.That((await supd.CtlAsync("stop", "svc")).ExitCode, Is.EqualTo(0));

        var disable = await supd.CtlAsync("disable", "svc");
        Assert.That(disable, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("svc stop/waiting (disabled)\n"), disable.ToString());
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));
        await supd.StartAsync();
        await supd.WaitForStatusAsync("witness", "^witness start/running");

        Assert.That((await supd.CtlAsync("status", "svc")).Stdout, Is.EqualTo("svc stop/waiting (disabled)\n"));
        Assert.That((await supd.CtlAsync("list")).Stdout, Does.Contain("svc stop/waiting (disabled)\n"));
        Assert.That((await supd.CtlAsync("emit", "foo")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("status", "svc")).Stdout, Is.EqualTo("svc stop/waiting (disabled)\n"), "no event starts a disabled job");
        var show = (await supd.CtlAsync("show", "svc")).Stdout;
        Assert.That(show, Does.Match(@"Disabled: by \S+ \(uid \d+\) since \d{4}-\d\d-\d\d .*: no event starts it"));

        // An explicit start still does.
        Assert.That((await supd.CtlAsync("start", "svc")).Stdout, Does.Match(@"^svc start/running, process \d+ \(disabled\)\n$"));
        Assert.That((await supd.CtlAsync("stop", "svc")).ExitCode, Is.EqualTo(0));

        Assert.That((await supd.CtlAsync("enable", "svc")).Stdout, Is.EqualTo("svc stop/waiting\n"));
        Assert.That((await supd.CtlAsync("emit", "foo")).ExitCode, Is.EqualTo(0));
        await supd.WaitForStatusAsync("svc", @"^svc start/running, process \d+\n$");
        Assert.That(await supd.CtlAsync("disable", "nosuch"), Has.Property("ExitCode").EqualTo(4).And.Property("Stderr").EqualTo("supctl: Unknown job: nosuch\n"));
    }

    [Test]
    public async Task Show_says_why_a_job_is_stopped()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("never", "exec sleep 300\n");
        supd.WriteJob("quitter", "start on go\nstop on halt\nexec sleep 300\n");
        supd.WriteJob("broken", "exec sh -c 'echo broken >&2; exit 4'\n");
        supd.WriteJob("once", "task\nexec true\n");
        await supd.StartAsync();
        Assert.That((await supd.CtlAsync("emit", "go")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("emit", "halt", "WHY=maintenance")).ExitCode, Is.EqualTo(0));
        await supd.CtlAsync("start", "broken");
        Assert.That((await supd.CtlAsync("start", "once")).ExitCode, Is.EqualTo(0));

        Assert.That((await supd.CtlAsync("show", "never")).Stdout, Does.Contain("Stopped: never started"));
        await Eventually.GetAsync(() => supd.CtlAsync("show", "quitter"), r => r.Stdout.Contains("Stopped: by stop on: halt WHY=maintenance", StringComparison.Ordinal), "quitter stopped by its stop on");
        await Eventually.GetAsync(() => supd.CtlAsync("show", "broken"), r => r.Stdout.Contains("Stopped: failed: main process exited with status 4", StringComparison.Ordinal), "broken to have failed");
        Assert.That((await supd.CtlAsync("show", "once")).Stdout, Does.Contain("Stopped: finished: main process"));
    }

    [Test]
    public async Task Restart_runs_with_the_variables_it_is_given_and_none_without()
    {
        var supd = _shared;
        supd.WriteJob("envy", "script\n  echo \"color=${COLOR:-none} size=${SIZE:-none}\"\n  exec sleep 300\nend script\n");
        await supd.ReloadJobsAsync();

        Assert.That((await supd.CtlAsync("start", "envy", "COLOR=blue", "SIZE=2")).ExitCode, Is.EqualTo(0));
        await supd.WaitForLogAsync("envy", "color=blue size=2\n");
        Assert.That((await supd.CtlAsync("restart", "envy", "COLOR=red")).Stdout, Does.StartWith("envy start/running"));
        await supd.WaitForLogAsync("envy", "color=blue size=2\ncolor=red size=none\n");
        Assert.That(Environ(await supd.MainPidAsync("envy")), Does.Contain("COLOR=red").And.No.Contain("SIZE=2"));
        Assert.That((await supd.CtlAsync("restart", "envy")).ExitCode, Is.EqualTo(0));
        await supd.WaitForLogAsync("envy", "color=red size=none\ncolor=none size=none\n");
        Assert.That(Environ(await supd.MainPidAsync("envy")).Where(v => v.StartsWith("COLOR=", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task A_failed_restart_says_Job_failed_to_restart_then_why()
    {
        var supd = _shared;
        var flag = Path.Combine(supd.Root, "ready");
        File.WriteAllText(flag, "");
        supd.WriteJob("flaky", $"pre-start script\n  [ -e {flag} ] || {{ echo \"no flag\"; exit 3; }}\nend script\nexec sleep 300\n");
        await supd.ReloadJobsAsync();
        Assert.That((await supd.CtlAsync("start", "flaky")).ExitCode, Is.EqualTo(0));
        File.Delete(flag);

        var restart = await supd.CtlAsync("restart", "flaky");

        Assert.That(restart.ExitCode, Is.EqualTo(1));
        Assert.That(restart.Stderr, Does.StartWith("supctl: Job failed to restart\n  flaky: pre-start process exited with status 3\n"));
        Assert.That(restart.Stderr, Does.Contain("    no flag\n"));
    }

    [Test]
    public async Task An_instance_job_lists_its_instances_keeps_a_finished_ones_log_readable_and_removes_old_logs()
    {
        await using var supd = new SupdHarness();
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED); // 0755
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, "{ \"InstanceLogRetention\": 2 }");
        supd.WriteJob("alert", "instance $PID\nscript\n  echo \"alert for $PID\"\n  exec sleep ${HOLD:-0}\nend script\n");
        await supd.StartAsync("--config", config);

        var none = await supd.CtlAsync("status", "alert");
        Assert.That(none.ExitCode, Is.EqualTo(1));
        Assert.That(none.Stderr, Does.StartWith("supctl: Unknown parameter: PID\nalert is an instance job (instance $PID): name one, e.g. supctl status alert PID=…\nIt has no instances now"));

        Assert.That((await supd.CtlAsync("start", "alert", "PID=11", "HOLD=300")).ExitCode, Is.EqualTo(0));
        var pid = SupdHarness.PidOf((await supd.CtlAsync("status", "alert", "PID=11")).Stdout);
        var listed = await supd.CtlAsync("status", "alert");
        Assert.That(listed.Stderr, Does.Contain($"Its instances (1):\n  alert (11) start/running, process {pid}   [PID=11]\n"));
        var logWithout = await supd.CtlAsync("log", "alert");
        Assert.That(logWithout.Stderr, Does.StartWith("supctl: Unknown parameter: PID\nalert is an instance job (instance $PID): name one, e.g. supctl log alert PID=…\nIts instances (1):"));

        // A finished instance: its log is still read.
        Assert.That((await supd.CtlAsync("start", "alert", "PID=22")).ExitCode, Is.EqualTo(0));
        await Eventually.GetAsync(() => supd.CtlAsync("log", "alert", "PID=22"), r => r.Stdout == "alert for 22\n", "the finished instance's log");

        // Retention 2: after three more finish, 22's log and the oldest of them are gone; the running one's stays.
        foreach (var n in new[] { "31", "32", "33" })
        {
            Assert.That((await supd.CtlAsync("start", "alert", $"PID={n}")).ExitCode, Is.EqualTo(0));
            await Eventually.TrueAsync(() => File.Exists(supd.LogPath("alert", $"{n}")) && File.ReadAllText(supd.LogPath("alert", $"{n}")) == $"alert for {n}\n", $"alert for {n} in its log");
            await Eventually.GetAsync(() => supd.CtlAsync("status", "alert", $"PID={n}"), r => r.ExitCode == 4, $"instance {n} to end (no such instance: 4)");
        }
        await Eventually.TrueAsync(() => !File.Exists(supd.LogPath("alert", "22")) && !File.Exists(supd.LogPath("alert", "31")), "the oldest finished instances' logs to be removed");
        Assert.That(File.Exists(supd.LogPath("alert", "32")) && File.Exists(supd.LogPath("alert", "33")), Is.True, "the two newest finished are kept");
        Assert.That(File.Exists(supd.LogPath("alert", "11")), Is.True, "a running instance's log is never removed");
        Assert.That((await supd.CtlAsync("log", "alert", "PID=33")).Stdout, Is.EqualTo("alert for 33\n"));
    }

    private static string[] Environ(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
}
