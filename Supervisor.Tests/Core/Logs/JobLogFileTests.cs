using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;

namespace Supervisor.Tests.Core.Logs;

/// <summary>A job log on a real temp directory: rotation at line boundaries, dropped bytes, a file deleted under us.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class JobLogFileTests
{
    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-log-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string[] Files(string path, int count) =>
        Enumerable.Range(1, count).Reverse().Select(i => $"{path}.{i}").Where(File.Exists).Append(path).ToArray();

    [Test]
    public void Rotates_by_size_at_line_boundaries_keeping_every_line_in_order()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "job.log");
            var log = new JobLogFile(path, NullLogger.Instance, new LogRotation(4096, 100));
            var text = string.Concat(Enumerable.Range(1, 5000).Select(i => $"line {i} {new string('x', i % 50)}\n"));
            var bytes = Encoding.UTF8.GetBytes(text);
            // Chunks that cut lines anywhere, as pipe reads do.
            var random = new Random(8);
            for (var at = 0; at < bytes.Length;)
            {
                var size = Math.Min(random.Next(1, 3000), bytes.Length - at);
                log.Write(bytes.AsSpan(at, size));
                at += size;
            }
            log.Dispose();

            var files = Files(path, 100);
            Assert.That(files, Has.Length.GreaterThan(10));
            foreach (var file in files)
            {
                var content = File.ReadAllText(file);
                Assert.That(content, Does.EndWith("\n"), $"{file} ends mid-line");
                Assert.That(content.Length, Is.LessThanOrEqualTo(4096), $"{file} is over the limit");
            }
            Assert.That(string.Concat(files.Select(File.ReadAllText)), Is.EqualTo(text));
            Assert.That(log.BytesDropped, Is.Zero);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Keeps_only_count_rotated_files_and_mode_0640()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "job.log");
            var log = new JobLogFile(path, NullLogger.Instance, new LogRotation(100, 2));
            for (var i = 1; i <= 50; i++) log.Write(Encoding.UTF8.GetBytes($"line {i:D3} {new string('y', 30)}\n"));
            log.Dispose();

            Assert.That(Directory.GetFiles(dir).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "job.log", "job.log.1", "job.log.2" }));
            Assert.That(File.ReadAllText(path), Does.Contain("line 050"));
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_line_longer_than_the_limit_is_split_only_past_the_overshoot()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "job.log");
            var log = new JobLogFile(path, NullLogger.Instance, new LogRotation(1000, 5));
            log.Write(Encoding.UTF8.GetBytes("short\n" + new string('z', 1500) + "\n" + new string('w', 2500) + "\nend\n"));
            log.Dispose();

            var contents = Files(path, 5).Select(File.ReadAllText).ToArray();
            // "short" alone (the long line starts a new file); 1500 z's finish within the overshoot; 2500 w's must be cut.
            Assert.That(contents[0], Is.EqualTo("short\n"));
            Assert.That(contents[1], Is.EqualTo(new string('z', 1500) + "\n"));
            Assert.That(string.Concat(contents), Is.EqualTo("short\n" + new string('z', 1500) + "\n" + new string('w', 2500) + "\nend\n"));
            Assert.That(contents.Max(c => c.Length), Is.LessThanOrEqualTo(2000));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Counts_what_it_cannot_write_and_recovers_when_it_can()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "job.log");
            Directory.CreateDirectory(path); // a directory where the file should be: open fails (EISDIR)
            var log = new JobLogFile(path, NullLogger.Instance);
            log.Write("lost 1\n"u8);
            log.Write("lost 2\n"u8);
            Assert.That(log.BytesDropped, Is.EqualTo(14));

            Directory.Delete(path);
            log.Write("kept\n"u8);
            log.Dispose();
            Assert.That(File.ReadAllText(path), Is.EqualTo("kept\n"));
            Assert.That(log.BytesDropped, Is.EqualTo(14));
            Assert.That(log.BytesWritten, Is.EqualTo(5));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_file_deleted_under_it_is_replaced_within_a_second()
    {
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "job.log");
            var time = new FakeTimeProvider();
            var log = new JobLogFile(path, NullLogger.Instance, null, time);
            log.Write("before\n"u8);
            File.Delete(path);
            log.Write("into the deleted file\n"u8);
            time.Advance(TimeSpan.FromSeconds(1.1));
            log.Write("after\n"u8);
            log.Dispose();

            Assert.That(File.ReadAllText(path), Is.EqualTo("after\n"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
