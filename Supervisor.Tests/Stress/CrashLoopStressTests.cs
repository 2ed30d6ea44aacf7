using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

// 1000 jobs crash as fast as supd lets them: its descriptors, threads and memory must stay flat (no per-spawn leak),
// and once the crashing stops every exit has been reaped (no zombie children, every job running).
public sealed partial class StressTests
{
    private const int Jobs = 1000;

    [Test]
    public async Task A_thousand_jobs_in_a_crash_loop_leave_supds_resources_flat_and_every_exit_reaped()
    {
        await using var supd = new SupdHarness();
        var calm = Path.Combine(supd.Root, "calm");
        var starts = Path.Combine(supd.Root, "starts");
        // Each start: count itself and crash, until the calm file exists; then stay up (so every job can be seen settled).
        var program = supd.WriteScript("crasher", $"echo >> {starts}\n[ -e {calm} ] && exec sleep 1000000\nexit 1\n");
        for (var i = 0; i < Jobs; i++)
            supd.WriteJob($"crash{i:D4}", $"start on startup\nrespawn\nrespawn limit unlimited\nexec {program}\n");
        await supd.StartAsync();

        var duration = StressLength.Duration(TimeSpan.FromSeconds(20));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var samples = new List<ResourceSample>();
        while (clock.Elapsed < duration)
        {
            samples.Add(ResourceSample.Take(supd.SupdPid, clock.Elapsed));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        File.WriteAllText(calm, "");

        // Every job ends up running (each needed one more start after the calm file), and nothing is left unreaped.
        await supd.WaitForListAsync(jobs => jobs.Count(SupdHarness.IsRunning) == Jobs,
            r => r.Stdout.Split('\n').Count(l => l.Contains("start/running", StringComparison.Ordinal)) == Jobs,
            $"all {Jobs} jobs running", TimeSpan.FromMinutes(3));
        await Eventually.TrueAsync(() => ResourceSample.Take(supd.SupdPid, clock.Elapsed).ZombieChildren == 0,
            "no zombie children of supd", TimeSpan.FromSeconds(30));
        var settled = ResourceSample.Take(supd.SupdPid, clock.Elapsed);

        TestContext.Out.WriteLine($"supd resources during {duration.TotalSeconds:F0}s of {Jobs} crash-looping jobs:");
        foreach (var sample in samples) TestContext.Out.WriteLine(sample);
        TestContext.Out.WriteLine($"settled: {settled}");
        var spawned = File.ReadAllBytes(starts).Length;
        TestContext.Out.WriteLine($"{spawned} job processes started and reaped ({spawned / duration.TotalSeconds:F0}/s)");
        Assert.That(spawned, Is.GreaterThan(2 * Jobs), "the jobs did not crash-loop");

        // Descriptors: bounded by the jobs alive at once (a pipe and a pidfd each), never by how many have died.
        var firstQuarter = samples.Take(Math.Max(1, samples.Count / 4)).ToList();
        var baselineFds = firstQuarter.Min(s => s.Fds);
        Assert.Multiple(() =>
        {
            Assert.That(samples.Max(s => s.Fds), Is.LessThanOrEqualTo(baselineFds + 3 * Jobs + 64), "descriptors grow with spawns");
            Assert.That(settled.Fds, Is.LessThanOrEqualTo(baselineFds + 3 * Jobs + 64), "descriptors after the crash loop");
            Assert.That(samples.Max(s => s.Threads), Is.LessThanOrEqualTo(firstQuarter.Max(s => s.Threads) + 16), "threads grow");
            // Memory: the last quarter no higher than the first quarter's peak plus a margin for the GC's own growth.
            var lastQuarter = samples.Skip(samples.Count * 3 / 4).ToList();
            Assert.That(lastQuarter.Min(s => s.RssKib), Is.LessThanOrEqualTo(firstQuarter.Max(s => s.RssKib) * 3 / 2 + 32 * 1024),
                "resident memory keeps growing");
            Assert.That(settled.ZombieChildren, Is.Zero);
        });
    }
}
