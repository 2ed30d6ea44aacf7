using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// The seed article's three job files (samples/upstart/, verbatim), driven end to end. The programs they name
/// (sshd, nagios3, logger) are replaced through a NAME.override, Upstart's own mechanism, by small stand-in
/// scripts that behave alike: sshd forks into the background (expect fork), nagios runs in the foreground, logger
/// prefixes lines with its tag.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class SeedExamplesTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static SupdHarness WithSeedJob(string name, string overrideText)
    {
        var supd = new SupdHarness();
        File.Copy(Path.Combine(Binaries.RepositoryRoot, "samples", "upstart", name + ".conf"), Path.Combine(supd.JobDir, name + ".conf"));
        File.WriteAllText(Path.Combine(supd.JobDir, name + ".override"), $"env {supd.Marker}\n{overrideText}");
        return supd;
    }

    [Test]
    public async Task Nagios_starts_on_filesystem_comes_back_when_killed_and_is_already_running()
    {
        await using var seeded = WithSeedJob("nagios", "");
        var nagios = seeded.WriteScript("nagios3", "echo \"nagios reading $1\"\nexec sleep 100000\n");
        File.AppendAllText(Path.Combine(seeded.JobDir, "nagios.override"), $"exec {nagios} /etc/nagios3/nagios.cfg\n");
        await seeded.StartAsync();

        // supd emits filesystem at boot, so `start on filesystem` starts it unmodified.
        var first = SupdHarness.PidOf((await seeded.WaitForStatusAsync("nagios", @"^nagios start/running, process \d+\n$")).Stdout);
        await seeded.WaitForLogAsync("nagios", "nagios reading /etc/nagios3/nagios.cfg\n");

        SupdHarness.Signal(first, 15);
        var second = await Eventually.GetAsync(() => seeded.MainPidAsync("nagios"), pid => pid != 0 && pid != first, "nagios back with a new pid");
        Assert.That(ProcessTable.IsAlive(second), Is.True);

        var again = await seeded.CtlAsync("start", "nagios");
        Assert.That(again, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").EqualTo("supctl: Job is already running: nagios\n"));
    }

    [Test]
    public async Task Ssh_with_expect_fork_is_followed_to_its_daemon_and_oom_never_is_only_a_hint()
    {
        await using var supd = WithSeedJob("ssh", "");
        // Like sshd without -D: fork into the background and return.
        var sshd = supd.WriteScript("sshd", "sleep 100000 &\nexit 0\n");
        File.AppendAllText(Path.Combine(supd.JobDir, "ssh.override"), $"exec {sshd}\n");
        await supd.StartAsync();

        var status = await supd.WaitForStatusAsync("ssh", @"^ssh start/running, process \d+\n");
        var daemon = SupdHarness.PidOf(status.Stdout);
        await ProcessTable.WaitForProgramAsync(daemon, "sleep", "the followed pid, the forked daemon (not the shell that forked it)");
        Assert.That(ProcessTable.Stat(daemon)!.Value.ParentPid, Is.EqualTo(supd.SupdPid), "adopted by supd, the subreaper");

        // Killed, it is respawned and followed again.
        SupdHarness.Signal(daemon, 9);
        // Running, not only a new pid: while it waits in spawned, the pid is the short-lived shell (gone at once when
        // the exec helper is native).
        var next = SupdHarness.PidOf((await supd.WaitForStatusAsync("ssh", $@"^ssh start/running, process (?!{daemon}\b)\d+\n")).Stdout);
        await ProcessTable.WaitForProgramAsync(next, "sleep", "the daemon followed after the respawn");

        var stop = await supd.CtlAsync("stop", "ssh");
        Assert.That(stop.Stdout, Is.EqualTo("ssh stop/waiting\n"));
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(next), "the daemon to be stopped");
    }

    [Test]
    public async Task Helloworld_logs_the_event_variables_as_the_article_shows()
    {
        await using var supd = WithSeedJob("helloworld", "");
        var logger = supd.WriteScript("logger", "tag=$2\nwhile IFS= read -r line; do echo \"$tag: $line\"; done\n");
        File.AppendAllText(Path.Combine(supd.JobDir, "helloworld.override"), $"exec env | {logger} -t helloworld\n");
        await supd.StartAsync();

        var emit = await supd.CtlAsync("emit", "helloworld", "foo=bar", "baz=fizz");

        Assert.That(emit.ExitCode, Is.EqualTo(0), emit.ToString());
        await supd.WaitForLogAsync("helloworld", "helloworld: UPSTART_JOB=helloworld\n");
        var log = supd.ReadLog("helloworld");
        Assert.That(log, Does.Contain("helloworld: foo=bar\n").And.Contain("helloworld: baz=fizz\n")
            .And.Contain("helloworld: UPSTART_EVENTS=helloworld\n").And.Contain("helloworld: UPSTART_INSTANCE=\n")
            .And.Contain("helloworld: TERM=linux\n"));
    }
}
