using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Logs;

/// <summary>Timestamps at line starts only, and the <c>JOB| line</c> copy for containers.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed partial class JobOutputWriterTests
{
    [Test]
    public void Timestamps_only_the_start_of_each_line_however_the_reads_cut_it()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-ts-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 18, 1, 2, 345, TimeSpan.Zero));
            time.SetLocalTimeZone(TimeZoneInfo.Utc);
            var file = new JobLogFile(Path.Combine(dir, "job.log"), NullLogger.Instance, null, time);
            var writer = new JobOutputWriter(file, timestamps: true, mirror: null, "job", time);
            writer.Write("first li"u8);
            writer.Write("ne\nsecond\nthi"u8);
            time.Advance(TimeSpan.FromSeconds(1));
            writer.Write("rd\n"u8);
            writer.Write(Encoding.UTF8.GetBytes(new string('x', 200_000) + "\n"));
            file.Dispose();

            var lines = File.ReadAllLines(file.Path);
            Assert.That(lines[..3], Is.EqualTo(new[]
            {
                "2026-11-24T18:01:02.345+00:00 first line",
                "2026-11-24T18:01:02.345+00:00 second",
                "2026-11-24T18:01:02.345+00:00 third",
            }));
            Assert.That(lines[3], Is.EqualTo("2026-11-24T18:01:03.345+00:00 " + new string('x', 200_000)));
            Assert.That(lines, Has.Length.EqualTo(4));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Mirrors_whole_lines_with_the_job_name_and_flushes_a_last_partial_line_at_the_end()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-mirror-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            var stdout = new MemoryStream();
            var mirror = new LogMirror(stdout, NullLogger<LogMirror>.Instance);
            var file = new JobLogFile(Path.Combine(dir, "web.log"), NullLogger.Instance);
            IOutputSink a = new JobOutputWriter(file, false, mirror, "web", TimeProvider.System);
            IOutputSink b = new JobOutputWriter(file, false, mirror, "db", TimeProvider.System);
            a.Write("listen"u8);
            b.Write("ready\nhalf"u8);
            a.Write("ing on :80\n"u8);
            b.Completed();
            a.Write(Encoding.UTF8.GetBytes(new string('y', JobOutputWriter.MaxMirrorLine + 10) + "\n"));
            file.Dispose();

            var lines = Encoding.UTF8.GetString(stdout.ToArray()).Split('\n');
            Assert.That(lines[..3], Is.EqualTo(new[] { "db| ready", "web| listening on :80", "db| half" }));
            Assert.That(lines[3], Is.EqualTo("web| " + new string('y', JobOutputWriter.MaxMirrorLine)));
            Assert.That(lines[4], Is.EqualTo("web| " + new string('y', 10)));
            // The log itself gets the bytes unchanged.
            Assert.That(File.ReadAllText(file.Path), Does.StartWith("listenready\nhalfing on :80\n"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
