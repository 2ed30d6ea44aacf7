using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

// supd is SIGKILLed in the middle of its work (jobs crashing, jobs stopped and started by hand) and started again,
// several times: the operator's goals come back, every status is true, and every process the old supd left is
// accounted for: adopted with its pid (a job that ran on), ended by itself, or killed by its recorded process group at
// start-up (a process of an instance between states), never left running unsupervised.
public sealed partial class StressTests
{
    [Test]
    public async Task Repeated_SIGKILLs_mid_run_restore_goals_and_adopt_or_end_every_process_of_an_old_supd()
    {
        await using var supd = new SupdHarness();
        var crasher = supd.WriteScript("crasher", "sleep 0.$(( $$ % 5 ))\nexit 1\n");
        for (var i = 0; i < 40; i++) supd.WriteJob($"steady{i:D2}", "start on startup\nexec sleep 1000000\n");
        for (var i = 0; i < 10; i++) supd.WriteJob($"held{i}", "start on startup\nexec sleep 1000000\n");
        for (var i = 0; i < 10; i++) supd.WriteJob($"crash{i}", $"start on startup\nrespawn\nrespawn limit unlimited\nexec {crasher}\n");
        supd.WriteJob("inst", "instance $NAME\nexec sleep 1000000\n");
        await supd.StartAsync();
        await supd.WaitForListAsync(jobs => Running(jobs, "steady") == 40 && Running(jobs, "held") == 10,
            r => Count(r.Stdout, "steady", "start/running") == 40 && Count(r.Stdout, "held", "start/running") == 10,
            "every steady and held job running");
        for (var i = 0; i < 10; i++) Assert.That((await supd.CtlAsync("stop", $"held{i}")).ExitCode, Is.Zero);
        for (var i = 0; i < 5; i++) Assert.That((await supd.CtlAsync("start", "inst", $"NAME=n{i}")).ExitCode, Is.Zero);

        var duration = StressLength.Duration(TimeSpan.FromSeconds(20));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cycles = 0;
        while (cycles < 2 || clock.Elapsed < duration)
        {
            cycles++;
            var before = await Pids(supd);
            // Let the state file catch up with the hand-made goals and record every steady process as one to adopt, then
            // kill supd while the crashers crash.
            await Eventually.TrueAsync(() => StateMentions(supd, before.Where(p => !p.Key.StartsWith("crash", StringComparison.Ordinal))),
                "the state file to record every steady process");
            SupdHarness.Signal(supd.SupdPid, 9);
            await supd.SupdProcess!.WaitForExitAsync();

            await supd.StartAsync();
            var list = await supd.WaitForListAsync(jobs => Running(jobs, "steady") == 40 && jobs.Count(j => j.Job == "inst" && SupdHarness.IsRunning(j)) == 5,
                r => Count(r.Stdout, "steady", "start/running") == 40 && Count(r.Stdout, "inst (n", "start/running") == 5,
                "steady jobs and the instances running again", TimeSpan.FromMinutes(1));
            Assert.That(Count(list.Stdout, "held", "stop/waiting"), Is.EqualTo(10), $"cycle {cycles}: held jobs\n{list.Stdout}");

            // The steady jobs and the instances ran on: adopted with their pids. Every other process of the old supd's
            // jobs is gone, and every job process is the new supd's child or an adopted one (or descends from one).
            var after = await Pids(supd);
            foreach (var (job, pid) in before.Where(p => !p.Key.StartsWith("crash", StringComparison.Ordinal)))
                Assert.That(after.GetValueOrDefault(job), Is.EqualTo(pid), $"cycle {cycles}: {job} adopted with its pid\n{list.Stdout}");
            var adopted = after.Values.Where(pid => before.ContainsValue(pid)).ToHashSet();
            await Eventually.TrueAsync(() => before.Values.All(pid => adopted.Contains(pid) || !ProcessTable.IsAlive(pid)),
                $"cycle {cycles}: the old supd's processes adopted or gone");
            await Eventually.TrueAsync(() => ProcessTable.WithEnvironment(Path.GetFileName(supd.Root))
                    .All(pid => DescendsFrom(pid, supd.SupdPid) || adopted.Any(a => DescendsFrom(pid, a))),
                $"cycle {cycles}: every job process to descend from the new supd or from an adopted one");
        }
        TestContext.Out.WriteLine($"{cycles} SIGKILL and restart cycles in {clock.Elapsed.TotalSeconds:F0}s");
    }

    /// <summary>True when supd is among the process's ancestors, or it is supd itself (whose environment carries the
    /// harness's marker too), or the process is gone.</summary>
    private static bool DescendsFrom(int pid, int supdPid)
    {
        if (pid == supdPid) return true;
        for (var p = pid; p > 1;)
        {
            if (ProcessTable.Stat(p) is not { } stat) return true;
            if (stat.ParentPid == supdPid) return true;
            p = stat.ParentPid;
        }
        return false;
    }

    private static int Running(IReadOnlyList<Supervisor.Protocol.JobStatus> jobs, string prefix) =>
        jobs.Count(j => j.Job.StartsWith(prefix, StringComparison.Ordinal) && SupdHarness.IsRunning(j));

    private static int Count(string list, string prefix, string state) =>
        list.Split('\n').Count(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains(state, StringComparison.Ordinal));

    /// <summary>Job (or "job (instance)") → main pid, for every running line of <c>supctl list</c>.</summary>
    private static async Task<Dictionary<string, int>> Pids(SupdHarness supd)
    {
        var list = await supd.CtlAsync("list");
        return list.Stdout.Split('\n').Where(l => l.Contains("/running, process ", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(" start/", StringComparison.Ordinal)], SupdHarness.PidOf);
    }

    private static bool StateMentions(SupdHarness supd, IEnumerable<KeyValuePair<string, int>> processes)
    {
        var path = Path.Combine(supd.StateDir, "goals.json");
        if (!File.Exists(path)) return false;
        var text = File.ReadAllText(path);
        return processes.All(p => text.Contains($"\"mainPid\": {p.Value},", StringComparison.Ordinal));
    }
}
