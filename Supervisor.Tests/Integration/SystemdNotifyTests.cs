using NUnit.Framework;
using Supervisor.Tests.Support;
using Supervisor.Tests.Core.Systemd;

namespace Supervisor.Tests.Integration;

/// <summary>The real supd under a fake systemd: NOTIFY_SOCKET set, whatever supd's parent process is called (here: the test host).</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class SystemdNotifyTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task Supd_says_ready_after_the_boot_jobs_started_keeps_its_status_current_and_says_stopping(bool abstractSocket)
    {
        using var systemd = new FakeNotifySocket(abstractSocket);
        await using var h = new SupdHarness();
        h.WriteJob("web", "start on filesystem\nexec sleep 1000\n");
        h.WriteJob("idle", "exec sleep 1000\n");
        h.StartSupdWith(["--job-dir", h.JobDir, "--socket", h.Socket, "--log-dir", h.LogDir, "--state-dir", h.StateDir],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Address });

        await systemd.WaitForAsync(m => m == "READY=1", "READY=1");
        // Ready means the boot events were handled: the job started on filesystem already runs.
        Assert.That((await h.CtlAsync("status", "web")).Stdout, Does.Match("web start/running, process [0-9]+"));
        Assert.That(systemd.Received, Does.Contain("STATUS=2 jobs, 1 running, 0 failed"));

        await h.CtlAsync("start", "idle");
        await systemd.WaitForAsync(m => m == "STATUS=2 jobs, 2 running, 0 failed", "STATUS after a start");

        Assert.That(await h.TerminateAsync(), Is.Zero);
        await systemd.WaitForAsync(m => m == "STOPPING=1", "STOPPING=1");
        Assert.That(h.DaemonOutput, Does.Contain("Notified systemd: ready"));
    }

    [Test]
    public async Task Reload_configuration_and_SIGHUP_are_bracketed_by_RELOADING_and_READY()
    {
        using var systemd = new FakeNotifySocket(false);
        await using var h = new SupdHarness();
        h.WriteJob("web", "exec sleep 1000\n");
        h.StartSupdWith(["--job-dir", h.JobDir, "--socket", h.Socket, "--log-dir", h.LogDir, "--state-dir", h.StateDir],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Address });
        await systemd.WaitForAsync(m => m == "READY=1", "READY=1");

        h.WriteJob("added", "exec sleep 1000\n");
        var reload = await h.CtlAsync("reload-configuration");
        Assert.That(reload.Stdout, Does.Contain("added"), reload.ToString());
        // Datagrams arrive in order: RELOADING=1 (with the monotonic time systemd requires), then READY=1.
        await systemd.WaitForAsync(m => m.StartsWith("RELOADING=1\nMONOTONIC_USEC=", StringComparison.Ordinal), "RELOADING=1");
        await systemd.WaitForAsync(m => m == "READY=1", "READY=1 after RELOADING=1");

        SupdHarness.Signal(h.SupdPid, 1);
        await systemd.WaitForAsync(m => m.StartsWith("RELOADING=1", StringComparison.Ordinal), "RELOADING=1 after SIGHUP");
        await systemd.WaitForAsync(m => m == "READY=1", "READY=1 after the SIGHUP reload");
    }
}
