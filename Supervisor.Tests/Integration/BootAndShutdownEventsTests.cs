using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>supd's boot events (startup, filesystem, runlevel 2) and its shutdown event (runlevel 0).</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class BootAndShutdownEventsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task Jobs_written_for_ubuntu_start_at_boot_with_the_runlevel_variables()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("multiuser", "start on runlevel [2345]\ntask\nexec env\n");
        supd.WriteJob("mounted", "start on filesystem\ntask\nexec echo filesystem-seen\n");
        await supd.StartAsync();

        await supd.WaitForLogAsync("multiuser", "UPSTART_EVENTS=runlevel\n");
        Assert.That(supd.ReadLog("multiuser"), Does.Contain("RUNLEVEL=2\n").And.Contain("PREVLEVEL=N\n"));
        await supd.WaitForLogAsync("mounted", "filesystem-seen\n");
        Assert.That(supd.DaemonOutput, Does.Match(@"Event startup\n(.|\n)*Event filesystem\n(.|\n)*Event runlevel RUNLEVEL=2 PREVLEVEL=N\n"));
    }

    [Test]
    public async Task On_SIGTERM_the_shutdown_event_stops_jobs_in_their_own_way_and_runs_shutdown_tasks()
    {
        await using var supd = new SupdHarness();
        var marks = Path.Combine(supd.Root, "marks");
        supd.WriteJob("service", $"""
            start on runlevel [2345]
            stop on runlevel [016]
            exec sleep 100000
            pre-stop exec sh -c 'echo "pre-stop $UPSTART_STOP_EVENTS $RUNLEVEL" >> {marks}'
            """);
        supd.WriteJob("on-shutdown", $"""
            start on runlevel [06]
            task
            exec sh -c 'echo "shutdown task RUNLEVEL=$RUNLEVEL" >> {marks}'
            """);
        await supd.StartAsync();
        await supd.WaitForStatusAsync("service", "start/running");

        var exitCode = await supd.TerminateAsync();

        Assert.That(exitCode, Is.EqualTo(0), supd.DaemonOutput);
        var lines = File.ReadAllLines(marks);
        Assert.That(lines, Is.EquivalentTo(new[] { "pre-stop runlevel 0", "shutdown task RUNLEVEL=0" }));
        Assert.That(supd.DaemonOutput, Does.Contain("Event runlevel RUNLEVEL=0 PREVLEVEL=2"));
        Assert.That(ProcessTable.WithEnvironment(supd.Marker), Is.Empty);
    }

    [Test]
    public async Task Boot_and_shutdown_events_are_settings()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("custom", "start on boot-done MODE=fast\ntask\nexec echo custom-boot\n");
        supd.StartSupdWith(
            ["--job-dir", supd.JobDir, "--socket", supd.Socket, "--log-dir", supd.LogDir, "--state-dir", supd.StateDir],
            new Dictionary<string, string> { ["SUPD_BOOTEVENTS"] = "boot-done MODE=fast", ["SUPD_SHUTDOWNEVENT"] = "" });

        await supd.WaitForLogAsync("custom", "custom-boot\n");
        Assert.That(supd.DaemonOutput, Does.Not.Contain("Event filesystem"));
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));
        Assert.That(supd.DaemonOutput, Does.Not.Contain("Event runlevel"));
    }
}
