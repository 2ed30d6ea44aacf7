using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The <c>critical</c> stanza: the loop reports a critical job that failed for good (the host then stops supd).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class CriticalJobTests
{
    [Test]
    public async Task A_critical_job_whose_main_process_fails_is_reported_with_the_reason()
    {
        await using var h = await LoopHarness.CreateAsync(("db", "critical\nexec /bin/false\n"));
        await h.Loop.StartAsync("db", [], wait: false);

        await h.ExitAsync("db", "main", ExitStatus.Exited(3));

        var failure = await h.Loop.CriticalFailure.Within();
        Assert.That(failure.Job, Is.EqualTo("db"));
        Assert.That(failure.Reason, Is.EqualTo("main process exited with status 3"));
    }

    [Test]
    public async Task A_critical_job_that_respawns_too_fast_is_reported_once_it_stops()
    {
        await using var h = await LoopHarness.CreateAsync(("db", "critical\nrespawn\nrespawn limit 1 10\nexec /bin/false\n"));
        await h.Loop.StartAsync("db", [], wait: false);

        await h.ExitAsync("db", "main", ExitStatus.Exited(1));
        Assert.That(h.Loop.CriticalFailure.IsCompleted, Is.False, "a respawn is not a failure for good");
        await h.ExitAsync("db", "main", ExitStatus.Exited(1));

        var failure = await h.Loop.CriticalFailure.Within();
        Assert.That(failure.Reason, Does.StartWith("respawning too fast"));
    }

    [Test]
    public async Task A_critical_job_stopped_on_request_or_a_failing_ordinary_job_is_not_reported()
    {
        await using var h = await LoopHarness.CreateAsync(("db", "critical\nexec /bin/sleep 100\n"), ("web", "exec /bin/false\n"));
        await h.Loop.StartAsync("db", []);
        await h.Loop.StartAsync("web", [], wait: false);

        await h.ExitAsync("web", "main", ExitStatus.Exited(1));
        var stopping = h.Loop.StopAsync("db", []);
        await h.ExitAsync("db", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stopping.Within();

        Assert.That((await h.Loop.StatusAsync("web", [])).Failure, Is.Not.Null, "web did fail");
        Assert.That(h.Loop.CriticalFailure.IsCompleted, Is.False);
    }
}
