using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Processes;
using Supervisor.Tests.Support;

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

    [Test]
    public void A_tag_is_found_in_an_environment_wherever_its_entry_falls_and_only_as_a_whole_value()
    {
        // The tag's entry straddles the reader's 16 KiB chunks (it starts 5 bytes before the first's end); an entry
        // that merely contains the key and a value too long to hold come first. (env keeps one entry per key.)
        var filler = new string('f', 16 * 1024 - 292);
        using var child = EnvSleep($"FILLER={filler}", "XSUPD_TAG=wrong", $"LONG={new string('t', Limits.MaxEnvironValueBytes + 1)}",
            "SUPD_TAG=abc123", "LAST=1");
        var key = "SUPD_TAG="u8.ToArray();

        Assert.That(ProcFs.EnvironmentValue(child.Id, key), Is.EqualTo("abc123"));
        Assert.That(ProcFs.EnvironmentContains(child.Id, key, "abc123"u8.ToArray()), Is.True);
        Assert.That(ProcFs.EnvironmentContains(child.Id, key, "abc12"u8.ToArray()), Is.False, "a prefix of the value is not the value");
        Assert.That(ProcFs.EnvironmentContains(child.Id, key, "abc1234"u8.ToArray()), Is.False);
        Assert.That(ProcFs.EnvironmentContains(child.Id, key, "wrong"u8.ToArray()), Is.False, "XSUPD_TAG is another key");
        Assert.That(ProcFs.EnvironmentValue(child.Id, "LONG="u8.ToArray()), Is.Null, "a value over the limit is skipped, never held");
        Assert.That(ProcFs.EnvironmentValue(child.Id, "LAST="u8.ToArray()), Is.EqualTo("1"));
        Assert.That(ProcFs.EnvironmentValue(child.Id, "MISSING="u8.ToArray()), Is.Null);
        Assert.That(ProcFs.EnvironmentValue(int.MaxValue, key), Is.Null, "no such process");
    }

    [Test]
    public void A_tag_beyond_the_environment_bytes_read_is_not_seen()
    {
        // Nine 120 KB values before the tag (one string may have 128 KiB; the whole environment up to a quarter of the
        // stack limit, 2 MiB with the usual 8 MiB).
        var fillers = Enumerable.Range(0, 9).Select(i => $"F{i}={new string('f', 120 * 1000)}").ToArray();
        Sleeper child;
        try
        {
            child = EnvSleep([.. fillers, "SUPD_TAG=late"]);
        }
        catch (InvalidOperationException e)
        {
            Assert.Ignore($"an environment of 1.1 MB cannot be passed here ({e.Message}): the stack limit is too small");
            return;
        }
        using (child)
        {
            Assert.That(ProcFs.EnvironmentValue(child.Id, "F8="u8.ToArray()), Is.Null, "a value over the limit is not held");
            Assert.That(ProcFs.EnvironmentValue(child.Id, "SUPD_TAG="u8.ToArray()), Is.Null, "past the bytes read");
            Assert.That(ProcFs.EnvironmentContains(child.Id, "SUPD_TAG="u8.ToArray(), "late"u8.ToArray()), Is.False);
        }
    }

    // `sleep 100` with exactly this environment, in this order (env -i execs it).
    private static Sleeper EnvSleep(params string[] environment)
    {
        var start = new ProcessStartInfo("env") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add("-i");
        foreach (var entry in environment) start.ArgumentList.Add(entry);
        start.ArgumentList.Add("sleep");
        start.ArgumentList.Add("100");
        var sleeper = new Sleeper(Process.Start(start)!);
        try
        {
            // Until env has exec'd sleep (the same pid, another program) and the kernel has set up sleep's environment
            // (the name changes first: until the new stack's tables are written, /proc/PID/environ reads empty);
            // env's own error when it could not.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!sleeper.Process.HasExited && (ProcessTable.Comm(sleeper.Id) != "sleep" || !HasEnvironment(sleeper.Id)))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("env did not exec sleep");
                Thread.Sleep(10);
            }
            if (sleeper.Process.HasExited) throw new InvalidOperationException(sleeper.Process.StandardError.ReadToEnd().Trim());
            return sleeper;
        }
        catch
        {
            sleeper.Dispose();
            throw;
        }
    }

    private static bool HasEnvironment(int pid) => ProcFs.Read(pid, "environ", stackalloc byte[1]) > 0;

    /// <summary>A child this test owns: killed and reaped when disposed.</summary>
    private sealed class Sleeper(Process process) : IDisposable
    {
        public Process Process { get; } = process;
        public int Id => Process.Id;

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.WaitForExit();
            Process.Dispose();
        }
    }

    private static int ParentOfSelf()
    {
        var status = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("PPid:", StringComparison.Ordinal));
        return int.Parse(status["PPid:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
