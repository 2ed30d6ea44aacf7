using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 21's health checks end to end with the real supd and supctl: a hung job (alive, not answering) is restarted
/// by its health check, and status, show and the events say why; once it answers, <c>healthy</c> follows.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class HealthCheckTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task A_hung_job_is_restarted_by_its_health_check_and_says_why()
    {
        await using var supd = new SupdHarness();
        var answer = Path.Combine(supd.Root, "answer");
        supd.WriteJob("hung", $$"""
            health exec sh -c 'echo "probe: $(cat {{answer}} 2>/dev/null || echo no answer)"; test -e {{answer}}'
            health interval 0.3
            health retries 2
            exec sleep 100000

            """);
        supd.WriteJob("pager", """
            start on unhealthy JOB=hung
            task
            exec echo "paged: $JOB unhealthy, exit status $EXIT_STATUS"

            """);
        supd.WriteJob("relief", """
            start on healthy JOB=hung
            task
            exec echo "$JOB is healthy again"

            """);
        await supd.StartAsync();
        var start = await supd.CtlAsync("start", "hung");
        Assert.That(start.ExitCode, Is.EqualTo(0), start.ToString());
        var first = SupdHarness.PidOf(start.Stdout);

        await supd.WaitForLogAsync("pager", "paged: hung unhealthy, exit status 1\n");
        var status = await supd.WaitForStatusAsync("hung", @"^hung start/running, process \d+ \(unhealthy: check failed 2 times\)\n$");
        Assert.That(SupdHarness.PidOf(status.Stdout), Is.Not.EqualTo(first), "restarted: a new main process");
        var show = await supd.CtlAsync("show", "hung");
        Assert.That(show.Stdout, Does.Match(@"Health: unhealthy \(check failed 2 times\); last check failed: exit 1, "), show.ToString());
        Assert.That(show.Stdout, Does.Contain("probe: no answer"), "the check's last lines");
        Assert.That(show.Stdout, Does.Match(@"Respawns: [1-9]"));
        Assert.That(supd.ReadLog("hung"), Does.Contain("probe: no answer\n"), "the check's output goes to the job's log");

        File.WriteAllText(answer, "pong");
        await supd.WaitForLogAsync("relief", "hung is healthy again\n");
        await supd.WaitForStatusAsync("hung", @"^hung start/running, process \d+\n$");
        show = await supd.CtlAsync("show", "hung");
        Assert.That(show.Stdout, Does.Match(@"Health: healthy; last check passed: exit 0, "), show.ToString());
        Assert.That(show.Stdout, Does.Contain("probe: pong"));
        Assert.That(Regex.Matches(supd.DaemonOutput, @"Event unhealthy JOB=hung INSTANCE= EXIT_STATUS=1").Count, Is.GreaterThanOrEqualTo(1));

        var stop = await supd.CtlAsync("stop", "hung");
        Assert.That(stop.ExitCode, Is.EqualTo(0), stop.ToString());
        Assert.That(stop.Stdout, Is.EqualTo("hung stop/waiting\n"));
        Assert.That(await supd.TerminateAsync(), Is.EqualTo(0));
        Assert.That(ProcessTable.WithEnvironment(supd.Marker), Is.Empty, "no job or check process outlives supd");
    }
}
