using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>Goals survive: what an operator did outlives supd (SIGKILL or a clean stop), and a bad state file never stops it.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class PersistedGoalsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task After_a_SIGKILL_a_job_stopped_by_hand_stays_stopped_and_running_jobs_are_adopted_with_their_pids()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("held", "start on startup\nexec sleep 300\n");
        supd.WriteJob("runner", "start on startup\nexec sleep 300\n");
        supd.WriteJob("inst", "instance $NAME\nscript\n  echo \"color $COLOR\"\n  exec sleep 300\nend script\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("held", "start/running");
        await supd.WaitForStatusAsync("runner", "start/running");
        Assert.That((await supd.CtlAsync("stop", "held")).Stdout, Is.EqualTo("held stop/waiting\n"));
        Assert.That((await supd.CtlAsync("start", "inst", "NAME=a", "COLOR=blue")).ExitCode, Is.EqualTo(0));
        var oldRunner = await supd.MainPidAsync("runner");
        var oldInst = SupdHarness.PidOf((await supd.CtlAsync("status", "inst", "NAME=a")).Stdout);
        var stateFile = Path.Combine(supd.StateDir, "goals.json");
        await Eventually.TrueAsync(() => File.Exists(stateFile) && File.ReadAllText(stateFile).Contains($"\"mainPid\": {oldInst},", StringComparison.Ordinal), "the state file to record inst's process");

        SupdHarness.Signal(supd.SupdPid, 9);
        await supd.SupdProcess!.WaitForExitAsync();
        Assert.That(Alive(oldRunner), Is.True, "a SIGKILLed supd leaves its jobs running");

        await supd.StartAsync();

        // startup came again: runner runs on (adopted, the same pid), held stays stopped.
        var runner = await supd.WaitForStatusAsync("runner", "start/running");
        Assert.That(runner.Stdout, Is.EqualTo($"runner start/running, process {oldRunner} (adopted after supd restart)\n"));
        Assert.That((await supd.CtlAsync("status", "held")).Stdout, Is.EqualTo("held stop/waiting\n"));
        // Started by hand: adopted with its variables, not started a second time.
        var inst = await supd.CtlAsync("status", "inst", "NAME=a");
        Assert.That(inst.Stdout, Is.EqualTo($"inst (a) start/running, process {oldInst} (adopted after supd restart)\n"));
        Assert.That(File.ReadAllText(supd.LogPath("inst", "a")), Is.EqualTo("color blue\n"), "inst ran once");
        Assert.That(supd.DaemonOutput, Does.Contain("held stays stopped (stopped by hand)"));

        // Until started by hand.
        Assert.That((await supd.CtlAsync("start", "held")).Stdout, Does.StartWith("held start/running"));
        // And a restart by hand starts inst afresh, with the variables it was started with.
        Assert.That((await supd.CtlAsync("restart", "inst", "NAME=a", "COLOR=blue")).ExitCode, Is.EqualTo(0));
        await Eventually.TrueAsync(() => File.ReadAllText(supd.LogPath("inst", "a")) == "color blue\ncolor blue\n", "inst's second run");
        await Eventually.TrueAsync(() => !Alive(oldInst), "the adopted process to end with the restart");
    }

    [Test]
    public async Task After_a_clean_restart_a_job_started_by_hand_runs_again_but_a_finished_task_does_not()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "exec sleep 300\n");
        supd.WriteJob("once", "task\nexec echo ran\n");
        await supd.StartAsync();
        Assert.That((await supd.CtlAsync("start", "svc")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("start", "once")).ExitCode, Is.EqualTo(0));
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));

        await supd.StartAsync();

        await supd.WaitForStatusAsync("svc", "start/running");
        Assert.That((await supd.CtlAsync("status", "once")).Stdout, Is.EqualTo("once stop/waiting\n"));
        Assert.That(supd.ReadLog("once"), Is.EqualTo("ran\n"), "the task ran once, before the restart");
    }

    [Test]
    public async Task A_corrupt_state_file_is_set_aside_with_one_line_naming_it()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "start on startup\nexec sleep 300\n");
        Directory.CreateDirectory(supd.StateDir);
        var stateFile = Path.Combine(supd.StateDir, "goals.json");
        File.WriteAllText(stateFile, "{\"version\": 1, \"stoppedByHand\": [ {\"job\": ");

        await supd.StartAsync();

        await supd.WaitForStatusAsync("svc", "start/running");
        Assert.That(supd.DaemonOutput, Does.Match($@"State file {stateFile} is not valid \(.*\); set aside as {stateFile}\.corrupt-\d{{8}}T\d{{6}}Z"));
        Assert.That(Directory.GetFiles(supd.StateDir, "goals.json.corrupt-*"), Has.Length.EqualTo(1));
        Assert.That(File.ReadAllText(Directory.GetFiles(supd.StateDir, "goals.json.corrupt-*")[0]), Does.StartWith("{\"version\": 1"));
        // And supd writes a good one again.
        await Eventually.TrueAsync(() => File.Exists(stateFile) && File.ReadAllText(stateFile).Contains("\"job\": \"svc\"", StringComparison.Ordinal), "a new state file");
    }

    // Alive: the pid exists and is not a zombie (an orphan's reaper may be slow to collect it).
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
