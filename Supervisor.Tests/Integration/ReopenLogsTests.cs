using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>An external logrotate moves a job's log away; supctl reopen-logs or SIGUSR1 makes supd write a new one.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ReopenLogsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private const string Counter = NumberedLog.CounterJob;

    [Test]
    public async Task Reopen_logs_writes_a_new_file_after_the_old_one_was_moved_away()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("counter", Counter);
        await supd.StartAsync();
        await supd.WaitForLogAsync("counter", "line 3\n");

        File.Move(supd.LogPath("counter"), supd.LogPath("counter") + ".1");
        var reopen = await supd.CtlAsync("reopen-logs");

        Assert.That(reopen, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
        await Eventually.TrueAsync(() => File.Exists(supd.LogPath("counter")) && supd.ReadLog("counter").Contains('\n'), "a new counter.log");
        await DaemonTrace.WaitForAsync(supd, "Reopened 1 job log files (supctl reopen-logs)");
        await AssertNoLineLostAcrossTheRotation(supd);
    }

    [Test]
    public async Task SIGUSR1_reopens_the_logs_and_supd_keeps_running()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("counter", Counter);
        await supd.StartAsync();
        await supd.WaitForLogAsync("counter", "line 3\n");

        File.Move(supd.LogPath("counter"), supd.LogPath("counter") + ".1");
        SupdHarness.Signal(supd.SupdPid, 10);

        await Eventually.TrueAsync(() => File.Exists(supd.LogPath("counter")) && supd.ReadLog("counter").Contains('\n'), "a new counter.log");
        await DaemonTrace.WaitForAsync(supd, "job log files (SIGUSR1)");
        Assert.That((await supd.CtlAsync("status", "counter")).Stdout, Does.StartWith("counter start/running"));
        await AssertNoLineLostAcrossTheRotation(supd);
    }

    // The moved file ends where the new one begins: every line is in one of them, once (NumberedLog.Whole reads the
    // moved counter.log.1 before the new file).
    private static async Task AssertNoLineLostAcrossTheRotation(SupdHarness supd)
    {
        await Eventually.TrueAsync(() => supd.ReadLog("counter").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2
            && NumberedLog.Whole(supd, "counter").Count(c => c == '\n') > 11, "two lines in the new file, a dozen in all");
        NumberedLog.AssertEachOnce(NumberedLog.Whole(supd, "counter"), "line ");
    }
}
