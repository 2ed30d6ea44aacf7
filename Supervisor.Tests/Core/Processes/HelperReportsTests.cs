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

    [TestCase("")]
    [TestCase("warn\tnice 5\tPermission denied\n")]
    [TestCase("garbage without tabs\n")]
    public void A_helper_that_said_neither_exec_nor_fail_died_before_it_could_report(string text) =>
        Assert.That(Parse(text).Error, Is.EqualTo("the exec helper ended before it could run the job"));
}
