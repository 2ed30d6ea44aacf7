using System.Diagnostics;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

// 20 followers (`supctl events -f` and `supctl log -f`), a third of which never read, while jobs crash and write:
// supd's memory stays within its documented bounds, and it keeps answering everyone else.
public sealed partial class StressTests
{
    [Test]
    public async Task Twenty_followers_some_never_reading_keep_supds_memory_bounded()
    {
        await using var supd = new SupdHarness();
        var chatter = supd.WriteScript("chatter", "i=0\nwhile :; do i=$((i+1)); echo \"line $i $(date +%s%N) padding padding padding padding\"; done\n");
        var crasher = supd.WriteScript("crasher", "echo crashing\nexit 1\n");
        supd.WriteJob("chatty", $"start on startup\nexec {chatter}\n");
        for (var i = 0; i < 5; i++) supd.WriteJob($"crash{i}", $"start on startup\nrespawn\nrespawn limit unlimited\nexec {crasher}\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("chatty", "start/running");

        var followers = new List<(Process Process, bool Reads, long[] Lines)>();
        for (var i = 0; i < 20; i++)
        {
            var args = i % 2 == 0 ? new[] { "events", "-f" } : new[] { "log", "-f", i % 4 == 1 ? "chatty" : "crash0" };
            var reads = i % 3 != 0;
            followers.Add((Start(supd, args), reads, new long[1]));
        }
        var readers = followers.Where(f => f.Reads).Select(f => Task.Run(async () =>
        {
            while (await f.Process.StandardOutput.ReadLineAsync() is not null) Interlocked.Increment(ref f.Lines[0]);
        })).ToList();

        var duration = StressLength.Duration(TimeSpan.FromSeconds(20));
        var clock = Stopwatch.StartNew();
        var samples = new List<ResourceSample>();
        try
        {
            while (clock.Elapsed < duration)
            {
                samples.Add(ResourceSample.Take(supd.SupdPid, clock.Elapsed));
                var status = await supd.CtlAsync("status", "chatty");
                Assert.That(status.Stdout, Does.StartWith("chatty start/running"), status.ToString());
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
        finally
        {
            foreach (var f in followers) { try { f.Process.Kill(); } catch (InvalidOperationException) { } }
        }
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));

        TestContext.Out.WriteLine($"supd with 20 followers for {duration.TotalSeconds:F0}s:");
        foreach (var sample in samples) TestContext.Out.WriteLine(sample);
        Assert.Multiple(() =>
        {
            foreach (var f in followers.Where(f => f.Reads))
                Assert.That(f.Lines[0], Is.GreaterThan(0), $"a reading follower ({string.Join(' ', f.Process.StartInfo.ArgumentList)}) saw nothing");
            // Documented bounds: event history ~8 MB plus ~4 MB per events watcher; a log follower holds one chunk.
            var first = samples.Take(Math.Max(1, samples.Count / 4)).Max(s => s.RssKib);
            var lastQuarter = samples.Skip(samples.Count * 3 / 4).ToList();
            Assert.That(lastQuarter.Max(s => s.RssKib), Is.LessThanOrEqualTo(first + (10 * 4 + 8 + 64) * 1024),
                "supd's memory grew past its bounds");
            Assert.That(samples.Max(s => s.Threads), Is.LessThanOrEqualTo(samples[0].Threads + 32), "threads grow with followers");
        });
    }

    private static Process Start(SupdHarness supd, string[] args)
    {
        var info = new ProcessStartInfo(Binaries.Supctl) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { "--socket", supd.Socket }.Concat(args)) info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }
}
