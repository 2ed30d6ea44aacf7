using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>supctl reload-configuration and SIGHUP: added, changed, removed and broken job files.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ReloadConfigurationTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task Reload_adds_changes_removes_and_keeps_a_broken_files_good_definition()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("edit", "start on startup\nexec sleep 301\n");
        supd.WriteJob("gone", "start on startup\nexec sleep 302\n");
        supd.WriteJob("bad", "start on startup\nexec sleep 303\n");
        supd.WriteJob("same", "start on startup\nexec sleep 304\n");
        await supd.StartAsync();
        foreach (var job in new[] { "edit", "gone", "bad", "same" }) await supd.WaitForStatusAsync(job, "start/running");
        var editPid = await supd.MainPidAsync("edit");
        var gonePid = await supd.MainPidAsync("gone");
        var badPid = await supd.MainPidAsync("bad");

        supd.WriteJob("fresh", "exec sleep 305\n");
        supd.WriteJob("edit", "start on startup\nexec sleep 306\n");
        File.Delete(Path.Combine(supd.JobDir, "gone.conf"));
        var badPath = supd.WriteJob("bad", "start on startup\nfrobnicate\nexec sleep 303\n");

        var reload = await supd.CtlAsync("reload-configuration");

        Assert.That(reload.ExitCode, Is.EqualTo(1), "a rejected file makes the command fail; the rest is applied");
        Assert.That(reload.Stdout, Is.EqualTo("added: fresh\nchanged: edit\nremoved: gone\n"));
        Assert.That(reload.Stderr, Does.StartWith($"{badPath}:3: ").And.Contain("frobnicate"));

        // Changed: still the old process, on the old definition, and status says so after initctl's prefix.
        var edit = (await supd.CtlAsync("status", "edit")).Stdout;
        Assert.That(edit, Is.EqualTo($"edit start/running, process {editPid} (changed on disk, restart to apply)\n"));
        // Removed: stopped and forgotten.
        await supd.WaitForStatusAsync("gone", "^$");
        Assert.That((await supd.CtlAsync("status", "gone")).Stderr, Is.EqualTo("supctl: Unknown job: gone\n"));
        await Eventually.TrueAsync(() => !Directory.Exists($"/proc/{gonePid}") || File.ReadAllText($"/proc/{gonePid}/stat").Contains(") Z ", StringComparison.Ordinal), "the removed job's process to end");
        // Broken: keeps running on its last good definition, not marked changed.
        Assert.That((await supd.CtlAsync("status", "bad")).Stdout, Is.EqualTo($"bad start/running, process {badPid}\n"));
        Assert.That((await supd.CtlAsync("status", "same")).Stdout, Does.Not.Contain("changed on disk"));
        // Added: a job like any other.
        Assert.That((await supd.CtlAsync("start", "fresh")).Stdout, Does.StartWith("fresh start/running, process"));

        // The next start of the changed job runs the new file.
        var restarted = await supd.CtlAsync("restart", "edit");
        Assert.That(restarted.Stdout, Does.StartWith("edit start/running, process").And.Not.Contain("changed on disk"));
        var newPid = SupdHarness.PidOf(restarted.Stdout);
        Assert.That(newPid, Is.Not.EqualTo(editPid));
        Assert.That(File.ReadAllText($"/proc/{newPid}/cmdline"), Is.EqualTo("sleep\0306\0"));

        // The broken file fixed as it was before: nothing changed. Fixed differently: changed. Then nothing.
        File.WriteAllText(badPath, $"env {supd.Marker}\nstart on startup\nexec sleep 303\n");
        Assert.That((await supd.CtlAsync("reload-configuration")).Stdout, Is.EqualTo("no changes\n"));
        File.WriteAllText(badPath, $"env {supd.Marker}\nstart on startup\nexec sleep 307\n");
        var again = await supd.CtlAsync("reload-configuration");
        Assert.That(again, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("changed: bad\n"));
        Assert.That((await supd.CtlAsync("reload-configuration")).Stdout, Is.EqualTo("no changes\n"));
        await DaemonTrace.WaitForAsync(supd, "Reloaded the job files (supctl reload-configuration): added fresh; changed edit; removed gone");
    }

    [Test]
    public async Task SIGHUP_reloads_the_job_files_and_supd_keeps_running()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("first", "exec sleep 300\n");
        await supd.StartAsync();

        supd.WriteJob("second", "exec sleep 300\n");
        SupdHarness.Signal(supd.SupdPid, 1);

        await Eventually.GetAsync(() => supd.CtlAsync("status", "second"), r => r.ExitCode == 0, "the new job after SIGHUP");
        await DaemonTrace.WaitForAsync(supd, "Reloaded the job files (SIGHUP): added second; changed none; removed none");
        Assert.That((await supd.CtlAsync("start", "second")).Stdout, Does.StartWith("second start/running"));
        Assert.That(supd.SupdProcess!.HasExited, Is.False);
    }

    [Test]
    public async Task SIGHUP_reloads_even_when_supd_was_started_with_it_ignored_as_nohup_does()
    {
        // nohup (or a non-interactive shell's `supd &`) starts supd with SIGHUP ignored; the runtime keeps SIG_IGN, so
        // supd must take its control signal back itself.
        await using var supd = new SupdHarness { Wrapper = ["/usr/bin/env", "--ignore-signal=HUP"] };
        supd.WriteJob("first", "exec sleep 300\n");
        await supd.StartAsync();

        supd.WriteJob("second", "exec sleep 300\n");
        SupdHarness.Signal(supd.SupdPid, 1);

        await Eventually.GetAsync(() => supd.CtlAsync("status", "second"), r => r.ExitCode == 0, "the new job after SIGHUP");
        Assert.That(supd.SupdProcess!.HasExited, Is.False);
    }

    [Test]
    public async Task SIGHUP_and_SIGUSR1_during_start_up_wait_for_supd_to_be_ready_instead_of_ending_it()
    {
        // A pre-start that outlives a SIGKILLed supd and shrugs off SIGTERM: not an instance at rest, so the next supd
        // does not adopt it; its start-up TERMs it, then waits the job's kill timeout (60 s) before SIGKILL. That wait
        // is a window, well inside start-up, that the test can see open.
        await using var supd = new SupdHarness();
        var termed = Path.Combine(supd.Root, "termed");
        // (Output to /dev/null: the shell's "Terminated" must not depend on a pipe.)
        supd.WriteJob("stubborn", $"start on startup\nkill timeout 60\npre-start script\n  exec >/dev/null 2>&1\n  trap 'echo TERM >> {termed}' TERM\n  while true; do sleep 0.2 || true; done\nend script\nexec sleep 300\n");
        await supd.StartAsync();
        var stubborn = SupdHarness.PidOf((await supd.WaitForStatusAsync("stubborn", "start/pre-start")).Stdout);
        var stateFile = Path.Combine(supd.StateDir, "goals.json");
        await Eventually.TrueAsync(() => File.Exists(stateFile) && File.ReadAllText(stateFile).Contains($"\"pid\": {stubborn}", StringComparison.Ordinal), "the state file to list stubborn");
        SupdHarness.Signal(supd.SupdPid, 9);
        await supd.SupdProcess!.WaitForExitAsync();

        var second = supd.StartSupd();
        await Eventually.TrueAsync(() => File.Exists(termed), "the new supd's start-up to TERM what the old one left");
        SupdHarness.Signal(second.Id, 1);  // SIGHUP
        SupdHarness.Signal(second.Id, 10); // SIGUSR1
        // Start-up goes on: after the 60 s it KILLs the leftover, then acts on both signals once it is ready.
        SupdHarness.Signal(stubborn, 9);

        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("Reloaded the job files (SIGHUP)", StringComparison.Ordinal), "the reload asked for during start-up");
        await DaemonTrace.WaitForAsync(supd, "job log files (SIGUSR1)");
        Assert.That(second.HasExited, Is.False, supd.DaemonOutput);
        Assert.That((await supd.CtlAsync("list")).ExitCode, Is.EqualTo(0));
    }
}
