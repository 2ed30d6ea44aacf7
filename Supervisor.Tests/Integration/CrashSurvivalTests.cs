using System.Text.Json.Nodes;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Crash survival: supd SIGKILLed (or leaving its jobs on SIGUSR2, as <c>systemctl restart</c> asks) does not take its
/// jobs down. Their output pipes are held by the fd holder meanwhile, and the next supd adopts each job it can verify:
/// same pids, every line in the log, marked adopted, its end seen with an unknown status, and a later stop still ends it.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class CrashSurvivalTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // A steady writer and a fast one (bursts of 500 lines): each line numbered, so a lost or doubled one shows.
    private const string Counter = NumberedLog.CounterJob, Flood = NumberedLog.FloodJob;

    // What a SIGKILL can cost a flooding job: the one chunk (128 KiB, the pump's read) supd had read and not yet written, in lines of
    // at least "flood 1000\n".
    private const int OneChunkOfFloodLines = 128 * 1024 / 11;

    [Test]
    public async Task After_a_SIGKILL_the_jobs_run_on_and_the_next_supd_adopts_them_with_their_output()
    {
        await using var supd = new SupdHarness();
        var (counter, flood) = await StartCounterAndFloodAsync(supd);
        await SurvivorsRecordedAsync(supd, counter, flood);

        SupdHarness.Signal(supd.SupdPid, 9);
        await supd.SupdProcess!.WaitForExitAsync();
        Assert.That(ProcessTable.IsAlive(counter) && ProcessTable.IsAlive(flood), Is.True, "the jobs outlive a SIGKILLed supd");
        var before = NumberedLog.Numbers(WholeLines(supd.ReadLog("counter")), "line ").Last();
        // The counter goes on writing into its pipe while no supd runs (the holder keeps it open: no SIGPIPE): some
        // twenty lines' worth, counted by the kernel (/proc/PID/io), before the next supd starts.
        var written = WrittenBytes(counter);
        await Eventually.TrueAsync(() => WrittenBytes(counter) >= written + 200, "the counter to write on while no supd runs");
        Assert.That(ProcessTable.IsAlive(counter), Is.True);

        await RestartAsync(supd);

        var status = await supd.CtlAsync("status", "counter");
        Assert.That(status.Stdout, Is.EqualTo($"counter start/running, process {counter} (adopted after supd restart)\n"));
        Assert.That(await supd.MainPidAsync("flood"), Is.EqualTo(flood));
        Assert.That((await supd.CtlAsync("show", "counter")).Stdout, Does.Contain("Adopted: after supd restart").And.Contain("exit status will be unknown"));
        Assert.That(supd.DaemonOutput, Does.Contain("Adopted 2 job instances left running by the previous supd"));
        Assert.That((await supd.CtlAsync("version")).Stdout, Does.Match(@"\npipe keeper: fd holder \(pid \d+, " + System.Text.RegularExpressions.Regex.Escape(supd.Socket) + @"\.fdholder\)\n"));
        // Lines written while no supd ran (more than a second's worth) and after: every one once, in order.
        await supd.WaitForLogAsync("counter", $"line {before + 80}\n");
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "counter"), "line ");
        await Eventually.TrueAsync(() => NumberedLog.Numbers(WholeLines(NumberedLog.Whole(supd, "flood")), "flood ").Count > 5000, "flood going on");
        NumberedLog.AssertInOrderWithAtMostOneGap(NumberedLog.Whole(supd, "flood"), "flood ", OneChunkOfFloodLines);

        // A later stop still ends them, and says their status is unknown (not supd's children).
        Assert.That((await supd.CtlAsync("stop", "counter")).Stdout, Is.EqualTo("counter stop/waiting\n"));
        Assert.That((await supd.CtlAsync("stop", "flood")).Stdout, Is.EqualTo("flood stop/waiting\n"));
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(counter) && !ProcessTable.IsAlive(flood), "the adopted jobs to end");
        await DaemonTrace.WaitForAsync(supd, $"counter main process ({counter}) ended (exit status unknown");
    }

    [Test]
    public async Task SIGUSR2_leaves_every_job_running_for_the_next_supd_without_losing_a_line()
    {
        await using var supd = new SupdHarness();
        var (counter, flood) = await StartCounterAndFloodAsync(supd);

        SupdHarness.Signal(supd.SupdPid, 12); // SIGUSR2: the unit's RestartKillSignal
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await supd.SupdProcess!.WaitForExitAsync(cts.Token);
        Assert.That(supd.SupdProcess.ExitCode, Is.EqualTo(0), supd.DaemonOutput);
        Assert.That(supd.DaemonOutput, Does.Contain("SIGUSR2: supd exits leaving its jobs running").And.Contain("Leaving 2 job instances running"));
        Assert.That(ProcessTable.IsAlive(counter) && ProcessTable.IsAlive(flood), Is.True);

        await RestartAsync(supd);

        Assert.That(await supd.MainPidAsync("counter"), Is.EqualTo(counter));
        Assert.That(await supd.MainPidAsync("flood"), Is.EqualTo(flood));
        var last = NumberedLog.Numbers(WholeLines(supd.ReadLog("counter")), "line ").Last();
        await supd.WaitForLogAsync("counter", $"line {last + 10}\n");
        await Eventually.TrueAsync(() => NumberedLog.Numbers(WholeLines(NumberedLog.Whole(supd, "flood")), "flood ").Count > 5000, "flood going on");
        // A clean leave writes everything it read before it goes: nothing lost, even from the flood.
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "counter"), "line ");
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "flood"), "flood ");
        // A clean stop ends the jobs and lets the fd holder go: nothing of the harness's is left.
        await Eventually.TrueAsync(() => !ProcessTable.IsAlive(counter) && !ProcessTable.IsAlive(flood), "the jobs to end with supd's clean stop");
        await Eventually.TrueAsync(() => !File.Exists(supd.Socket + ".fdholder"), "the fd holder to go with supd's clean stop");
    }

    [Test]
    public async Task An_adopted_process_that_ends_even_after_a_reexec_is_respawned_and_its_status_is_said_to_be_unknown()
    {
        await using var supd = new SupdHarness();
        var stay = Path.Combine(supd.Root, "stay");
        // Crashes twice (respawned twice), then stays up: the respawn tally goes over the restart with it.
        supd.WriteJob("svc", $"start on startup\nrespawn\nrespawn limit 10 60\nscript\n  [ -e {stay}.2 ] || {{ if [ -e {stay}.1 ]; then touch {stay}.2; else touch {stay}.1; fi; exit 3; }}\n  exec sleep 300\nend script\n");
        await supd.StartAsync();
        // Its third main process, the one that stays (the second's pid may show while it touches stay.2).
        var svc = await Eventually.GetAsync(() => supd.MainPidAsync("svc"), pid => pid != 0 && Runs(pid, "sleep"), "svc up after two crashes");
        await supd.WaitForStatusAsync("svc", "start/running");
        await SurvivorsRecordedAsync(supd, svc);

        SupdHarness.Signal(supd.SupdPid, 9);
        await supd.SupdProcess!.WaitForExitAsync();
        await RestartAsync(supd);

        Assert.That(await supd.MainPidAsync("svc"), Is.EqualTo(svc));
        Assert.That((await supd.CtlAsync("show", "svc")).Stdout, Does.Contain("Respawns: 2"), "the respawn tally came back");
        // A re-exec keeps it adopted: still not supd's child, still followed as such.
        var reexec = await supd.CtlAsync("daemon-reexec");
        Assert.That(reexec.ExitCode, Is.EqualTo(0), reexec.Stderr);
        Assert.That((await supd.CtlAsync("status", "svc")).Stdout, Is.EqualTo($"svc start/running, process {svc} (adopted after supd restart)\n"));
        using var events = CtlWatcher.Start(supd, "events", "-f");
        await events.EmitUntilSeenAsync(supd, "follower-ready", "the events follower to be connected");

        SupdHarness.Signal(svc, 15);

        var respawned = await Eventually.GetAsync(() => supd.MainPidAsync("svc"), pid => pid != 0 && pid != svc, "svc respawned");
        Assert.That((await supd.CtlAsync("status", "svc")).Stdout, Is.EqualTo($"svc start/running, process {respawned}\n"), "a process supd started itself is not marked adopted");
        await DaemonTrace.WaitForAsync(supd, $"svc main process ({svc}) ended (exit status unknown: adopted after a restart of supd, not its child)");
        await Eventually.TrueAsync(() => events.Lines.Any(l => l.Contains("exited", StringComparison.Ordinal) && l.Contains("EXIT_UNKNOWN=yes", StringComparison.Ordinal)),
            $"the exited event to say the status is unknown; events: {string.Join(" | ", events.Lines)}");
        Assert.That((await supd.CtlAsync("show", "svc")).Stdout, Does.Contain("Respawns: 3"));
    }

    [Test]
    public async Task A_recorded_pid_that_is_not_the_recorded_process_is_neither_adopted_nor_signalled()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "start on startup\nexec sleep 300\n");
        await supd.StartAsync();
        var svc = await Eventually.GetAsync(() => supd.MainPidAsync("svc"), pid => pid != 0, "svc running");
        await SurvivorsRecordedAsync(supd, svc);
        SupdHarness.Signal(supd.SupdPid, 9);
        await supd.SupdProcess!.WaitForExitAsync();

        // As if the pid had been reused by another process since: the recorded start time no longer matches.
        var stateFile = Path.Combine(supd.StateDir, "goals.json");
        var state = JsonNode.Parse(File.ReadAllText(stateFile))!;
        foreach (var instance in state["survivors"]!["instances"]!.AsArray()) instance!["mainStartTime"] = instance["mainStartTime"]!.GetValue<ulong>() + 1;
        foreach (var process in state["processes"]!.AsArray()) process!["startTime"] = process["startTime"]!.GetValue<ulong>() + 1;
        File.WriteAllText(stateFile, state.ToJsonString());

        await RestartAsync(supd);

        var fresh = await Eventually.GetAsync(() => supd.MainPidAsync("svc"), pid => pid != 0, "svc started afresh by startup");
        Assert.That(fresh, Is.Not.EqualTo(svc));
        Assert.That((await supd.CtlAsync("status", "svc")).Stdout, Does.Not.Contain("adopted"));
        Assert.That(supd.DaemonOutput, Does.Contain($"svc main process {svc} is gone; not adopted"));
        Assert.That(ProcessTable.IsAlive(svc), Is.True, "a process that is not the recorded one is never signalled");
        SupdHarness.Signal(svc, 9);
    }

    // The counter and the flood running and writing: their main pids.
    private static async Task<(int Counter, int Flood)> StartCounterAndFloodAsync(SupdHarness supd)
    {
        supd.WriteJob("counter", Counter);
        supd.WriteJob("flood", Flood);
        await supd.StartAsync();
        await supd.WaitForLogAsync("counter", "line 3\n");
        return (await supd.MainPidAsync("counter"), await supd.MainPidAsync("flood"));
    }

    // goals.json records each instance that runs on, with its main pid, once the store has caught up.
    private static Task SurvivorsRecordedAsync(SupdHarness supd, params int[] pids)
    {
        var stateFile = Path.Combine(supd.StateDir, "goals.json");
        return Eventually.TrueAsync(() => File.Exists(stateFile) && pids.All(pid => File.ReadAllText(stateFile).Contains($"\"mainPid\": {pid},", StringComparison.Ordinal)),
            "goals.json to record the survivors");
    }

    private static async Task RestartAsync(SupdHarness supd)
    {
        supd.StartSupdWith(["--job-dir", supd.JobDir, "--socket", supd.Socket, "--log-dir", supd.LogDir, "--state-dir", supd.StateDir], new Dictionary<string, string>());
        await supd.WaitForAnswerAsync();
    }

    // The process runs this program now (its exec done: the script's shell, whose text names it too, does not count).
    private static bool Runs(int pid, string program)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").StartsWith(program + "\0", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    // Bytes the process has written so far (/proc/PID/io's wchar; root reads any process's).
    private static long WrittenBytes(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/io").First(l => l.StartsWith("wchar:", StringComparison.Ordinal))[6..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);

    // The whole lines of a log (its last may still be cut while the job writes).
    private static string WholeLines(string log) => log[..(log.LastIndexOf('\n') + 1)];
}
