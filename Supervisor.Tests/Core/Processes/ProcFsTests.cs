using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Processes;

/// <summary>supd's own /proc reader: the stat line's fields, small files read whole and bounded, children lists.</summary>
[TestFixture]
public sealed class ProcFsTests
{
    [Test]
    public void A_stat_line_is_read_after_the_last_parenthesis_of_the_command_name()
    {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime … starttime (22nd)
        var line = "4242 (a) b) (c) S 1 4242 4241 0 -1 0 0 0 0 0 170 30 0 0 20 0 1 0 987654 0 0\n"u8;

        var stat = StatLine.Parse(line);

        Assert.That(stat, Is.EqualTo(new StatLine(new ProcessInfo('S', 1, 4242, 4241, 987654), 170, 30)));
    }

    [TestCase("")]
    [TestCase("12 (x)")]
    [TestCase("12 (x) S 1 12 12 0 -1 0 0 0 0 0 1 2")]
    [TestCase("12 (x) S one 12 12 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0")]
    [TestCase("12 (x) S 1 12 12 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 -5 0 0")]
    public void A_line_that_is_not_a_stat_line_gives_nothing(string line) =>
        Assert.That(StatLine.Parse(Encoding.ASCII.GetBytes(line)), Is.Null);

    [Test]
    public void This_process_stat_agrees_with_the_runtime()
    {
        var self = ProcFs.Stat(Environment.ProcessId);

        Assert.That(self, Is.Not.Null);
        Assert.That(self!.Value.State, Is.AnyOf('R', 'S'));
        Assert.That(self.Value.ParentPid, Is.EqualTo(ParentOfSelf()));
        Assert.That(self.Value.StartTime, Is.GreaterThan(0UL).And.LessThanOrEqualTo(ProcFs.ClockTicksSinceBoot()));
        Assert.That(ProcFs.Stat(int.MaxValue), Is.Null, "no such process");
    }

    [Test]
    public void A_small_file_is_read_whole_and_a_large_one_only_up_to_the_limit()
    {
        var dir = Directory.CreateTempSubdirectory("procfs-").FullName;
        try
        {
            File.WriteAllText(Path.Join(dir, "small"), "read_bytes: 12\n");
            File.WriteAllBytes(Path.Join(dir, "large"), Enumerable.Repeat((byte)'x', Limits.MaxProcFileBytes + 100).ToArray());

            Assert.That(ProcFs.ReadText(Path.Join(dir, "small")), Is.EqualTo("read_bytes: 12\n"));
            Assert.That(ProcFs.ReadText(Path.Join(dir, "large")), Has.Length.EqualTo(Limits.MaxProcFileBytes));
            Assert.That(ProcFs.ReadText(Path.Join(dir, "missing")), Is.Null);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_process_children_are_listed_from_every_thread()
    {
        if (!ProcFs.HasChildrenLists) Assert.Ignore("this kernel keeps no /proc/PID/task/TID/children lists (CONFIG_PROC_CHILDREN)");
        using var child = Process.Start(new ProcessStartInfo("sleep", "100") { UseShellExecute = false })!;
        try
        {
            var children = new List<int>();

            Assert.That(ProcFs.Children(Environment.ProcessId, children), Is.True);
            Assert.That(children, Does.Contain(child.Id));
            Assert.That(ProcFs.Children(int.MaxValue, children = []), Is.True, "a process gone has no children");
            Assert.That(children, Is.Empty);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }

    private static int ParentOfSelf()
    {
        var status = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("PPid:", StringComparison.Ordinal));
        return int.Parse(status["PPid:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
