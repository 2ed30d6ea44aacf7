using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core.Logs;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Logs;

/// <summary>journald's native protocol as <see cref="JournalSink"/> writes it, read back as journald parses it; and its promise never to block.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class JournalSinkTests
{
    private static DirectoryInfo TempDir() => Directory.CreateTempSubdirectory("supd-journal-");

    [Test]
    public async Task A_job_line_carries_its_job_instance_and_priority_and_any_byte_in_its_message()
    {
        var dir = TempDir();
        try
        {
            using var journal = new FakeJournal(dir.FullName);
            using var sink = new JournalSink(journal.Path, NullLogger<JournalSink>.Instance);
            sink.JobLine("web"u8.ToArray(), "eu\n1"u8.ToArray(), JournalSink.Info, "GET / 200 \u0001=x"u8);
            sink.SupdLine(JournalSink.Warning, "web (eu) main process killed by KILL signal");
            sink.SupdLine(JournalSink.Info, new string('é', JournalSink.MaxMessageBytes));
            await Eventually.TrueAsync(() => journal.Entries.Count == 3, "three entries");

            var job = journal.Entries[0];
            Assert.That(job, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["PRIORITY"] = "6", ["SYSLOG_IDENTIFIER"] = "web", ["SUPD_JOB"] = "web", ["SUPD_INSTANCE"] = "eu\n1", ["MESSAGE"] = "GET / 200 \u0001=x",
            }));
            Assert.That(journal.Entries[1], Is.EquivalentTo(new Dictionary<string, string>
            {
                ["PRIORITY"] = "4", ["SYSLOG_IDENTIFIER"] = "supd", ["MESSAGE"] = "web (eu) main process killed by KILL signal",
            }));
            // Twice MaxMessageBytes in UTF-8: cut at a character's boundary, with the count.
            var cut = journal.Entries[2]["MESSAGE"];
            Assert.That(cut, Does.StartWith("éé").And.EndWith($"…[{JournalSink.MaxMessageBytes} bytes cut]"));
            await Eventually.TrueAsync(() => sink.Sent == 3, "three entries counted as sent");
            Assert.That(sink.Dropped, Is.Zero);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Test]
    public async Task A_journal_that_does_not_read_or_is_not_there_costs_dropped_entries_never_a_wait()
    {
        var dir = TempDir();
        try
        {
            using var stuck = new FakeJournal(dir.FullName, read: false);
            using var sink = new JournalSink(stuck.Path, NullLogger<JournalSink>.Instance);
            var line = new byte[1000];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 20_000; i++) sink.JobLine("web"u8.ToArray(), [], JournalSink.Info, line);
            // The sink's queue and the socket's hold a few hundred entries; the rest are dropped at once (a blocking send
            // would hang here).
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
            Assert.That(sink.Dropped, Is.GreaterThanOrEqualTo(20_000 - JournalSink.MaxQueued - 1000));
            Assert.That(sink.Sent + sink.Dropped, Is.LessThanOrEqualTo(20_000));

            using var missing = new JournalSink(Path.Combine(dir.FullName, "no-journal.socket"), NullLogger<JournalSink>.Instance);
            missing.SupdLine(JournalSink.Info, "nobody listens");
            await Eventually.TrueAsync(() => missing.Dropped == 1, "the entry nobody took to be counted as dropped");
            Assert.That(missing.Sent, Is.Zero);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Test]
    public async Task A_job_writer_sends_whole_lines_however_the_reads_cut_them_and_a_long_line_in_pieces()
    {
        var dir = TempDir();
        try
        {
            using var journal = new FakeJournal(dir.FullName);
            using var sink = new JournalSink(journal.Path, NullLogger<JournalSink>.Instance);
            var file = new JobLogFile(Path.Combine(dir.FullName, "web.log"), NullLogger.Instance);
            var writer = new JobOutputWriter(file, timestamps: true, mirror: null, "web-a", TimeProvider.System, sink, "web", "a");
            writer.Write("first li"u8);
            writer.Write("ne\nsecond\nthi"u8);
            writer.Write("rd\n"u8);
            writer.Write(Encoding.UTF8.GetBytes(new string('x', JobOutputWriter.MaxMirrorLine + 10) + "\n"));
            writer.Write("no newline at the end"u8);
            writer.Completed();
            file.Dispose();

            await Eventually.TrueAsync(() => journal.Entries.Count == 6, "six entries");
            Assert.That(journal.Entries.Select(e => e["MESSAGE"]), Is.EqualTo(new[]
            {
                "first line", "second", "third", new string('x', JobOutputWriter.MaxMirrorLine), new string('x', 10), "no newline at the end",
            }));
            Assert.That(journal.Entries.Select(e => (e["SYSLOG_IDENTIFIER"], e["SUPD_JOB"], e["SUPD_INSTANCE"], e["PRIORITY"])).Distinct(),
                Is.EqualTo(new[] { ("web", "web", "a", "6") }));
            // The log keeps its timestamps; the journal stamps entries itself.
            Assert.That(File.ReadAllText(file.Path), Does.Match(@"^\d{4}-\d\d-\d\dT[^ ]+ first line\n"));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
