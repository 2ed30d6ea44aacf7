using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Logs;

/// <summary>InstanceLogRetention on a real temp directory: the oldest finished instances' logs go, live ones stay.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class InstanceLogRetentionTests
{
    [Test]
    public async Task Keeps_the_newest_finished_instances_logs_with_their_rotations_and_never_a_revived_one()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-retention-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            using var logs = new JobLogDirectory(dir, NullLoggerFactory.Instance, new LogSettings { InstanceLogRetention = 2, Rotation = new LogRotation(1 << 20, 3) });
            foreach (var name in new[] { "a", "b", "c", "d" })
                logs.For("alert", name).Write(Encoding.UTF8.GetBytes($"{name}\n"));
            File.WriteAllText(logs.PathFor("alert", "a") + ".1", "a, rotated\n");
            File.WriteAllText(logs.PathFor("other", ""), "another job\n");

            logs.InstanceFinished("alert", "a");
            logs.InstanceFinished("alert", "b");
            logs.For("alert", "b"); // b starts again: its log is live, off the finished list
            logs.InstanceFinished("alert", "c");
            logs.InstanceFinished("alert", "d");

            // The remover counts a file after its unlink: wait for the count, not only for the files to go.
            await Eventually.TrueAsync(() => logs.InstanceLogsRemoved == 2, "a's log and its rotation to be removed and counted");
            Assert.That(File.Exists(logs.PathFor("alert", "a")) || File.Exists(logs.PathFor("alert", "a") + ".1"), Is.False);
            Assert.That(File.Exists(logs.PathFor("alert", "b")), Is.True, "a revived instance's log stays");
            Assert.That(File.Exists(logs.PathFor("alert", "c")) && File.Exists(logs.PathFor("alert", "d")), Is.True);
            Assert.That(File.Exists(logs.PathFor("other", "")), Is.True);
            Assert.That(logs.FinishedInstanceLogs("alert"), Is.EqualTo(2));

            logs.InstanceFinished("alert", "b");
            await Eventually.TrueAsync(() => !File.Exists(logs.PathFor("alert", "c")), "c, now the oldest beyond two, to go");
            Assert.That(File.Exists(logs.PathFor("alert", "b")) && File.Exists(logs.PathFor("alert", "d")), Is.True);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
