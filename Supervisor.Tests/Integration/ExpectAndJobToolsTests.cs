using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>expect with real forking daemons, and initctl/start/stop/status called from inside job scripts.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ExpectAndJobToolsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // The tests about one job of their own share one supd: a JIT supd's start and warm-up cost more CPU than such a test.
    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    [Test]
    public async Task Expect_daemon_follows_a_double_forked_daemon_in_a_new_session()
    {
        await using var supd = new SupdHarness();
        var daemon = supd.WriteScript("food", "setsid sh -c 'sleep 100000 & exit 0' &\nexit 0\n");
        supd.WriteJob("food", $"expect daemon\nrespawn\nexec {daemon}\n");
        await supd.StartAsync();

        var start = await supd.CtlAsync("start", "food");

        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        var pid = SupdHarness.PidOf(start.Stdout);
        var stat = ProcessTable.Stat(pid)!.Value;
        await ProcessTable.WaitForProgramAsync(pid, "sleep", "the followed daemon");
        Assert.That(stat.Session, Is.Not.EqualTo(pid), "the grandchild, not the session leader in the middle");
        Assert.That(stat.ParentPid, Is.EqualTo(supd.SupdPid));

        Assert.That((await supd.CtlAsync("stop", "food")).Stdout, Is.EqualTo("food stop/waiting\n"));
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(pid), "the daemon to be stopped through its own group");
    }

    [Test]
    public async Task Expect_stop_waits_for_the_process_to_stop_itself_then_continues_it()
    {
        var supd = _shared;
        var raiser = supd.WriteScript("ready", "echo preparing\nkill -STOP $$\necho continued\nexec sleep 100000\n");
        supd.WriteJob("ready", $"expect stop\nexec {raiser}\n");
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "ready");

        Assert.That(start.Stdout, Does.Match(@"^ready start/running, process \d+\n$"));
        await supd.WaitForLogAsync("ready", "preparing\ncontinued\n");
        var pid = SupdHarness.PidOf(start.Stdout);
        await Eventually.TrueAsync(() => ProcessTable.Stat(pid) is { State: 'S' }, "the continued process to be sleeping, not stopped");
    }

    [Test]
    public async Task Stop_in_pre_start_is_the_upstart_idiom_for_a_job_that_should_not_run()
    {
        var supd = _shared;
        supd.WriteJob("guarded", """
            pre-start script
                [ -e /nonexistent/enable-guarded ] || { stop; exit 0; }
            end script
            exec sleep 100000
            """);
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "guarded");

        Assert.That(start, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("guarded stop/waiting\n"));
        Assert.That(supd.DaemonOutput, Does.Not.Contain("guarded main process"));
    }

    [Test]
    public async Task Job_scripts_reach_their_supd_through_initctl_start_and_status()
    {
        var supd = _shared;
        supd.WriteJob("worker", "exec sleep 100000\n");
        supd.WriteJob("boss", """
            task
            script
                status
                start worker
                initctl status worker
                status worker | grep -q running && echo worker-is-running
                start worker || echo "second start: $?"
            end script
            """);
        await supd.ReloadJobsAsync();

        var start = await supd.CtlAsync("start", "boss");

        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        var log = supd.ReadLog("boss");
        Assert.That(log, Does.Match(@"^boss start/running, process \d+\nworker start/running, process \d+\nworker start/running, process \d+\nworker-is-running\n"));
        Assert.That(log, Does.Contain("start: Job is already running: worker\nsecond start: 1\n"), "errors carry the name the tool was called by");
    }

    [Test]
    public async Task The_tools_without_a_job_outside_a_job_say_the_job_name_is_missing()
    {
        var supd = _shared;
        await supd.ReloadJobsAsync();

        var result = await supd.CtlAsync("stop");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.StartWith("supctl: missing job name\n"));
    }
}
