using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary><c>--log-to-journal</c> of the real supd, through a fake journald socket (its path set as <c>JournalSocket</c>).</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class JournalTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task Each_job_line_and_supd_s_own_log_reach_the_journal_with_their_fields()
    {
        await using var h = new SupdHarness();
        using var journal = new FakeJournal(h.Root);
        h.WriteJob("web", "start on startup\nexec sh -c 'echo listening on :8080; echo cannot read cache >&2; printf partial; exec sleep 1000'\n");
        h.WriteJob("worker", "instance $N\nexec sh -c 'echo worker $N ready; exec sleep 1000'\n");
        h.StartSupdWith(["--job-dir", h.JobDir, "--socket", h.Socket, "--log-dir", h.LogDir, "--state-dir", h.StateDir, "--log-to-journal", "--http", "127.0.0.1:0"],
            new Dictionary<string, string> { ["SUPD_JOURNALSOCKET"] = journal.Path });
        await h.WaitForStatusAsync("web", "start/running");
        await h.CtlAsync("start", "worker", "N=eu-1");

        IReadOnlyDictionary<string, string>? Line(string message) =>
            journal.Entries.FirstOrDefault(e => e.GetValueOrDefault("MESSAGE") == message);
        await Eventually.TrueAsync(() => Line("worker eu-1 ready") is not null && Line("cannot read cache") is not null, "the jobs' lines in the journal", TimeSpan.FromSeconds(60));

        Assert.That(Line("listening on :8080"), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["PRIORITY"] = "6", ["SYSLOG_IDENTIFIER"] = "web", ["SUPD_JOB"] = "web", ["SUPD_INSTANCE"] = "", ["MESSAGE"] = "listening on :8080",
        }));
        // stderr has a pipe of its own when lines go to journald: its lines at warning.
        Assert.That(Line("cannot read cache")!["PRIORITY"], Is.EqualTo("4"));
        Assert.That(Line("cannot read cache")!["SYSLOG_IDENTIFIER"], Is.EqualTo("web"));
        Assert.That(Line("worker eu-1 ready")!["SUPD_INSTANCE"], Is.EqualTo("eu-1"));
        Assert.That(Line("worker eu-1 ready")!["SYSLOG_IDENTIFIER"], Is.EqualTo("worker"));
        // supd's own log: its identifier, Information at PRIORITY 6.
        var started = journal.Entries.FirstOrDefault(e => e["SYSLOG_IDENTIFIER"] == "supd" && e["MESSAGE"].StartsWith("web started", StringComparison.Ordinal));
        Assert.That(started, Is.Not.Null, string.Join("\n", journal.Entries.Select(e => e["MESSAGE"])));
        Assert.That(started!["PRIORITY"], Is.EqualTo("6"));
        // The job log still has both streams' lines (read from two pipes, so in the order supd read them).
        Assert.That(h.ReadLog("web"), Does.Contain("listening on :8080\n").And.Contain("cannot read cache\n"));

        // /metrics counts what was sent (the harness's supd logs at Debug: many lines) and what was dropped.
        var address = await Eventually.GetAsync(
            () => Task.FromResult(System.Text.RegularExpressions.Regex.Match(h.DaemonOutput, @"HTTP listener on (http://127\.0\.0\.1:[0-9]+)")),
            m => m.Success, "supd to log its HTTP listener's address");
        var metrics = await MetricsTests.GetAsync(new Uri(address.Groups[1].Value), "/metrics");
        Assert.That(metrics, Does.Match(@"(?m)^supd_journal_entries_total [1-9]").And.Match(@"(?m)^supd_journal_dropped_total [0-9]"));

        // A partial last line goes out when the process's output ends.
        await h.CtlAsync("stop", "web");
        await Eventually.TrueAsync(() => Line("partial") is not null, "the partial last line in the journal");
    }
}
