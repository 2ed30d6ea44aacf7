using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 16's files, logs and names, through the real supd and supctl: a huge log line, a planted symlink, unsafe
/// directories, forged log lines, supd.log's mode and reopening, and instance/job log names that cannot collide.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Category("Hardening")]
[Parallelizable(ParallelScope.All)]
public sealed class HardeningFilesTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [Test]
    public async Task A_40_MB_log_line_and_a_9_MB_partial_line_are_cut_not_held()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("chatty", """
            log rotate 100M 1
            script
                head -c 40000000 /dev/zero | tr '\0' x
                echo
                head -c 9000000 /dev/zero | tr '\0' y
                exec sleep 1000
            end script
            """);
        await supd.StartAsync();
        Assert.That((await supd.CtlAsync("start", "chatty")).ExitCode, Is.EqualTo(0));
        await Eventually.TrueAsync(() => File.Exists(supd.LogPath("chatty")) && new FileInfo(supd.LogPath("chatty")).Length == 49_000_001,
            "both lines in chatty.log", Long);
        var before = RssKiB(supd.SupdPid);

        var max = Limits.MaxHeldLogLineBytes;
        var last = await supd.CtlAsync("log", "chatty", "-n", "1");
        Assert.That(last.ExitCode, Is.EqualTo(0), last.Stderr);
        Assert.That(last.Stdout.TrimEnd('\n'), Is.EqualTo(new string('y', max) + $"…[{9_000_000 - max} bytes cut]"), "the partial last line, cut");
        var two = await supd.CtlAsync("log", "chatty", "-n", "2");
        Assert.That(two.Stdout, Does.StartWith(new string('x', max) + $"…[{40_000_000 - max} bytes cut]\n"));
        var show = await supd.CtlAsync("show", "chatty");
        Assert.That(show.ExitCode, Is.EqualTo(0), show.Stderr);
        Assert.That(show.Stdout, Does.Contain($"…[{40_000_000 - max} bytes cut]"));

        // 49 MB of log read three times: what supd held was a few chunks at a time, never a line.
        var growth = RssKiB(supd.SupdPid) - before;
        TestContext.Out.WriteLine($"supd RSS {before} KiB before, +{growth} KiB after log -n 1, log -n 2 and show");
        Assert.That(growth, Is.LessThan(40_000), "supd's RSS grew by less than the 40 MB line");
        Assert.That(await supd.MainPidAsync("chatty"), Is.Not.Zero, "the job keeps running");
    }

    [Test]
    public async Task A_symlink_planted_at_a_log_name_is_neither_read_nor_appended_to()
    {
        await using var supd = new SupdHarness();
        var secret = Path.Combine(supd.Root, "secret");
        await File.WriteAllTextAsync(secret, "root:$6$hash:19000::::::\n");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        supd.WriteJob("victim", "script\n echo pwned\n exec sleep 1000\nend script\n");
        await supd.StartAsync();
        File.CreateSymbolicLink(supd.LogPath("victim"), secret);

        var read = await supd.CtlAsync("log", "victim");
        Assert.That(read.ExitCode, Is.Not.EqualTo(0));
        Assert.That(read.Stdout, Does.Not.Contain("hash"));
        Assert.That(read.Stderr, Does.Contain("is a symbolic link (not followed)"), read.ToString());

        Assert.That((await supd.CtlAsync("start", "victim")).ExitCode, Is.EqualTo(0));
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains($"Cannot write job log {supd.LogPath("victim")}: is a symbolic link (not followed)"),
            "the refused write, logged", Long);
        Assert.That(await File.ReadAllTextAsync(secret), Is.EqualTo("root:$6$hash:19000::::::\n"), "nothing written through the link");
        var show = await supd.CtlAsync("show", "victim");
        Assert.That(show.Stderr, Does.Contain("symbolic link"), show.ToString());
        Assert.That((await supd.CtlAsync("status", "victim")).Stdout, Does.StartWith("victim start/running"), "supd and the job carry on");
    }

    [TestCase("socket", 0x1FD, "group")]   // 0775: a group member could replace the socket
    [TestCase("log", 0x1FF, "group and others")]     // 0777: anyone could plant LOGDIR/JOB.log -> /etc/shadow
    [TestCase("state", 0x1EF, "others")]   // 0757: o+w
    public async Task A_directory_writable_by_group_or_others_is_refused_at_start_up(string which, int mode, string by)
    {
        await using var supd = new SupdHarness();
        var directory = which switch { "socket" => supd.Root, "log" => supd.LogDir, _ => supd.StateDir };
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)mode);
        var refused = supd.StartSupd();
        await refused.WaitForExitAsync();
        Assert.That(refused.ExitCode, Is.EqualTo(1), supd.DaemonOutput);
        var octal = "0" + Convert.ToString(mode, 8);
        Assert.That(supd.DaemonOutput, Does.Contain($"unsafe {which} directory {directory}: {directory} is writable by {by} (mode {octal})"));

        // Sticky and supd's own, as /tmp-like dirs are: accepted.
        File.SetUnixFileMode(directory, (UnixFileMode)(mode | 0x200));
        await supd.StartAsync();
    }

    [Test]
    public async Task Control_characters_are_escaped_in_supd_log_and_supd_log_is_0600_and_reopened()
    {
        await using var supd = new SupdHarness();
        Directory.CreateDirectory(supd.LogDir);
        var supdLog = Path.Combine(supd.LogDir, "supd.log");
        await File.WriteAllTextAsync(supdLog, "from an older supd\n");
        File.SetUnixFileMode(supdLog, (UnixFileMode)0x1A4); // 0644, as supd used to leave it
        supd.WriteJob("web", "exec sleep 1000\n");
        await supd.StartAsync();
        Assert.That(File.GetUnixFileMode(supdLog), Is.EqualTo((UnixFileMode)0x180), "supd.log is 0600");

        const string forged = "2026-12-04T00:00:00.000+00:00 [INF] access: allowed everything to mallory";
        var attempt = await supd.CtlAsync("start", $"nosuch\n{forged}\r\u001b[2J");
        Assert.That(attempt.ExitCode, Is.Not.EqualTo(0));
        await Eventually.TrueAsync(() => File.ReadAllText(supdLog).Contains(@"nosuch\n2026-12-04"), "the escaped name in supd.log", Long);
        var text = await File.ReadAllTextAsync(supdLog);
        Assert.That(text, Does.Contain(@"mallory\r\x1b[2J"));
        Assert.That(text.Split('\n').Where(l => l.StartsWith("2026-12-04T00:00:00.000", StringComparison.Ordinal)), Is.Empty, "no forged line");
        Assert.That(supd.DaemonOutput.Split('\n').Where(l => l.StartsWith("2026-12-04", StringComparison.Ordinal)), Is.Empty, "none on stderr either");

        // goals.json is 0600 too (it holds job variables).
        Assert.That((await supd.CtlAsync("start", "web")).ExitCode, Is.EqualTo(0));
        var goals = Path.Combine(supd.StateDir, "goals.json");
        await Eventually.TrueAsync(() => File.Exists(goals) && File.ReadAllText(goals).Contains("web"), "goals.json written", Long);
        Assert.That(File.GetUnixFileMode(goals), Is.EqualTo((UnixFileMode)0x180), "goals.json is 0600");

        // An external logrotate moved supd.log away: reopen-logs makes supd write a new one (not the moved file).
        File.Move(supdLog, supdLog + ".1");
        Assert.That((await supd.CtlAsync("reopen-logs")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("stop", "web")).ExitCode, Is.EqualTo(0));
        await Eventually.TrueAsync(() => File.Exists(supdLog) && File.ReadAllText(supdLog).Contains("web"), "a new supd.log after reopen-logs", Long);
        Assert.That(File.GetUnixFileMode(supdLog), Is.EqualTo((UnixFileMode)0x180));
        Assert.That(File.ReadAllText(supdLog + ".1"), Does.Not.Contain("Reopened"), "the moved file is no longer written");
    }

    [Test]
    public async Task An_instance_and_a_job_with_the_dashed_name_write_different_logs()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("web", "instance $N\nscript\n echo \"instance $N\"\n exec sleep 1000\nend script\n");
        supd.WriteJob("web-admin", "script\n echo job web-admin\n exec sleep 1000\nend script\n");
        await supd.StartAsync();
        Assert.That((await supd.CtlAsync("start", "web", "N=admin")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("start", "web-admin")).ExitCode, Is.EqualTo(0));

        await supd.WaitForLogAsync("web-admin", "job web-admin\n");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(supd.LogDir, "web@admin.log")) &&
            File.ReadAllText(Path.Combine(supd.LogDir, "web@admin.log")) == "instance admin\n", "web@admin.log", Long);
        Assert.That(supd.ReadLog("web-admin"), Is.EqualTo("job web-admin\n"));
    }

    private static long RssKiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(Regex.Match(line, @"\d+").Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
