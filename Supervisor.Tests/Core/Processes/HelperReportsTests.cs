using System.Text;
using NUnit.Framework;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Processes;

/// <summary>What an exec helper's report says, line by line (the protocol of <see cref="ExecHelper"/>).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HelperReportsTests
{
    private static (string? Error, IReadOnlyList<string> NotApplied) Parse(string text) => HelperReports.Parse(Encoding.UTF8.GetBytes(text));

    [Test]
    public void Exec_last_means_the_program_runs_with_the_hints_that_were_refused()
    {
        var (error, notApplied) = Parse("warn\tnice 5\tPermission denied\nwarn\toom score -1000\tPermission denied\nexec\t\t\n");
        Assert.That(error, Is.Null);
        Assert.That(notApplied, Is.EqualTo(new[] { "nice 5: Permission denied", "oom score -1000: Permission denied" }));
    }

    [Test]
    public void A_failure_is_the_spawns_error()
    {
        Assert.That(Parse("fail\tsetuid\tunable to setuid: Operation not permitted\n").Error, Is.EqualTo("unable to setuid: Operation not permitted"));
        // execve itself failed after the exec line: the last word is the failure.
        Assert.That(Parse("exec\t\t\nfail\texec\tcannot run /srv/app: No such file or directory\n").Error,
            Is.EqualTo("cannot run /srv/app: No such file or directory"));
    }

    [Test]
    public void A_fork_server_childs_errno_is_written_as_the_helper_writes_it()
    {
        var (error, notApplied) = Parse("warn\tnice -5\t\t13\nwarn\toom score -1000\t\t1\nfail\tchroot\tunable to change root directory: /srv/root\t2\n");
        Assert.That(error, Is.EqualTo("unable to change root directory: /srv/root: No such file or directory"));
        Assert.That(notApplied, Is.EqualTo(new[] { "nice -5: Permission denied", "oom score -1000: Operation not permitted" }));
        // A tab inside a helper's message is not an errno unless a number follows the last one.
        Assert.That(Parse("fail\texec\tcannot run /a\tb: No such file or directory\n").Error, Is.EqualTo("cannot run /a\tb: No such file or directory"));
    }

    [TestCase("")]
    [TestCase("warn\tnice 5\tPermission denied\n")]
    [TestCase("garbage without tabs\n")]
    public void A_helper_that_said_neither_exec_nor_fail_died_before_it_could_report(string text) =>
        Assert.That(Parse(text).Error, Is.EqualTo("the exec helper ended before it could run the job"));

    [Test]
    public unsafe void A_report_past_its_bound_is_read_to_the_end_but_kept_only_to_the_bound_and_fails_the_spawn()
    {
        // 20 KiB of hints, then the exec line: past Limits.MaxHelperReportBytes (16 KiB), so the exec line is not kept.
        var line = "warn\tnice 5\tPermission denied\n";
        var text = string.Concat(Enumerable.Repeat(line, 20 * 1024 / line.Length + 1)) + "exec\t\t\n";
        Assert.That(text.Length, Is.GreaterThan(Supervisor.Core.Limits.MaxHelperReportBytes + 1024));
        var fds = stackalloc int[2];
        Assert.That(Supervisor.Core.Interop.Libc.Pipe2(fds, Supervisor.Core.Interop.Libc.O_CLOEXEC | Supervisor.Core.Interop.Libc.O_NONBLOCK), Is.EqualTo(0));
        var reports = new HelperReports();
        reports.Await(4242, fds[0]);
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* data = bytes)
        {
            // The pipe holds 64 KiB: the whole report goes in at once.
            Assert.That(Supervisor.Core.Interop.Libc.Write(fds[1], data, (nuint)bytes.Length), Is.EqualTo((nint)bytes.Length));
        }
        Supervisor.Core.Interop.Libc.Close(fds[1]);

        var report = reports.Read(fds[0]);
        Assert.That(report, Is.Not.Null, "read to end of file in one call");
        Assert.That(report!.Value.Error, Is.EqualTo("the exec helper ended before it could run the job"));
        var kept = report.Value.NotApplied.Sum(n => n.Length);
        Assert.That(report.Value.NotApplied, Has.Count.EqualTo(Supervisor.Core.Limits.MaxHelperReportBytes / line.Length));
        Assert.That(kept, Is.LessThan(Supervisor.Core.Limits.MaxHelperReportBytes));
        Assert.That(reports.IsAwaited(4242), Is.False);
    }
}
