using System.Text;
using NUnit.Framework;
using Supervisor.Core.Logs;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Logs;

/// <summary>supctl log's reader: the last lines (into JOB.log.1 when needed), and following across a rotation.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class LogTailTests
{
    private static async Task<string> ReadAll(string path, int lines)
    {
        var text = new StringBuilder();
        await foreach (var chunk in LogTail.ReadAsync(path, lines, follow: false, TimeProvider.System, CancellationToken.None))
            text.Append(Encoding.UTF8.GetString(chunk.Data.Span));
        return text.ToString();
    }

    [Test]
    public async Task Gives_the_last_lines_reaching_back_into_the_previous_file()
    {
        var dir = Directory.CreateTempSubdirectory("supd-tail-").FullName;
        try
        {
            var path = Path.Combine(dir, "job.log");
            await File.WriteAllTextAsync(path + ".1", string.Concat(Enumerable.Range(1, 100_000).Select(i => $"old {i}\n")));
            await File.WriteAllTextAsync(path, "new 1\nnew 2\nunfinished");

            Assert.That(await ReadAll(path, 2), Is.EqualTo("new 2\nunfinished"));
            Assert.That(await ReadAll(path, 5), Is.EqualTo("old 99999\nold 100000\nnew 1\nnew 2\nunfinished"));
            Assert.That(await ReadAll(path, 0), Is.Empty);
            Assert.That(await ReadAll(Path.Combine(dir, "missing.log"), 10), Is.Empty);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Category("Hardening")]
    public async Task A_long_line_is_cut_and_a_partial_last_line_is_given()
    {
        var dir = Directory.CreateTempSubdirectory("supd-tail-").FullName;
        try
        {
            var path = Path.Combine(dir, "job.log");
            var max = Supervisor.Core.Limits.MaxHeldLogLineBytes;
            await using (var file = File.Create(path))
            {
                await file.WriteAsync(Encoding.UTF8.GetBytes("first\n"));
                await file.WriteAsync(Encoding.UTF8.GetBytes(new string('x', 3 * max + 5) + "\n"));
                // A partial last line, longer than the bound, with a 2-byte character straddling the cut.
                await file.WriteAsync(Encoding.UTF8.GetBytes(new string('y', max - 1) + "é" + new string('z', 1000)));
            }

            var text = await ReadAll(path, 3);
            var lines = text.Split('\n');
            Assert.That(lines, Has.Length.EqualTo(3));
            Assert.That(lines[0], Is.EqualTo("first"));
            Assert.That(lines[1], Is.EqualTo(new string('x', max) + $"…[{2 * max + 5} bytes cut]"));
            Assert.That(lines[2], Is.EqualTo(new string('y', max - 1) + "…[1002 bytes cut]"), "never half a character");
            Assert.That(await ReadAll(path, 1), Is.EqualTo(lines[2]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Category("Hardening")]
    public void A_symlink_at_the_log_name_is_refused_not_read()
    {
        var dir = Directory.CreateTempSubdirectory("supd-tail-").FullName;
        try
        {
            var secret = Path.Combine(dir, "secret");
            File.WriteAllText(secret, "root:hash\n");
            File.CreateSymbolicLink(Path.Combine(dir, "job.log"), secret);
            var e = Assert.ThrowsAsync<IOException>(() => ReadAll(Path.Combine(dir, "job.log"), 10));
            Assert.That(e!.Message, Does.Contain("symbolic link"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Follows_appends_and_a_rotation_without_missing_a_line()
    {
        var dir = Directory.CreateTempSubdirectory("supd-follow-").FullName;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            var path = Path.Combine(dir, "job.log");
            await File.WriteAllTextAsync(path, "a 1\n");
            var received = new StringBuilder();
            var rotations = 0;
            var follower = Task.Run(async () =>
            {
                await foreach (var chunk in LogTail.ReadAsync(path, 10, follow: true, TimeProvider.System, cancel.Token))
                {
                    lock (received)
                    {
                        received.Append(Encoding.UTF8.GetString(chunk.Data.Span));
                        if (chunk.Rotated) rotations++;
                    }
                }
            });
            string Received() { lock (received) return received.ToString(); }

            await Eventually.TrueAsync(() => Received() == "a 1\n", "the existing line");
            await File.AppendAllTextAsync(path, "a 2\n");
            await Eventually.TrueAsync(() => Received().EndsWith("a 2\n", StringComparison.Ordinal), "an appended line");
            // Written to the old file just before it is moved away, then a new file: both must arrive, in order.
            await File.AppendAllTextAsync(path, "a 3\n");
            File.Move(path, path + ".1");
            await File.WriteAllTextAsync(path, "b 1\n");
            await Eventually.TrueAsync(() => Received().EndsWith("b 1\n", StringComparison.Ordinal), "the first line of the new file");

            Assert.That(Received(), Is.EqualTo("a 1\na 2\na 3\nb 1\n"));
            lock (received) Assert.That(rotations, Is.EqualTo(1));
            await cancel.CancelAsync();
            await follower;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
