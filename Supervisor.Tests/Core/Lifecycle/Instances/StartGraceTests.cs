using NUnit.Framework;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// <c>start grace SECONDS</c> on the loop with the fake clock: start is answered once the main process has stayed up
/// that long; an end within it fails the start even with respawn; after it, respawn is as before; a stop during the
/// grace answers the start at once.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class StartGraceTests
{
    private const string Flaky = "respawn\nrespawn limit unlimited\nstart grace 2\nexec /bin/server\n";

    [Test]
    public async Task Start_is_answered_only_once_the_grace_is_over()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Flaky));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();

        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running, process "), "running at once");
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.9));
        Assert.That(start.IsCompleted, Is.False, "not before the grace is over");
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.2));
        Assert.That((await start.Within())!.StatusLine(), Does.StartWith("svc start/running, process "));
    }

    [Test]
    public async Task An_end_within_the_grace_fails_the_start_and_is_not_respawned()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Flaky));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.5));

        await h.ExitAsync("svc", "main", ExitStatus.Exited(0));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Message, Is.EqualTo("Job failed to start"));
        Assert.That(failure.Details, Is.EqualTo(new[] { "  svc: main process exited with status 0 after 0.5s, within its start grace of 2s" }));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(1), "no respawn");
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc stop/waiting (failed: main process exited with status 0 after 0.5s, within its start grace of 2s)"));
    }

    [Test]
    public async Task After_the_grace_a_crash_respawns_and_the_respawn_has_its_own_grace()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Flaky));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        await h.AdvanceAsync(TimeSpan.FromSeconds(2.5));
        await start.Within();

        await h.ExitAsync("svc", "main", ExitStatus.Exited(1));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2), "respawned");
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        await h.ExitAsync("svc", "main", ExitStatus.Exited(1));

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2), "the respawn died within its grace: no further respawn");
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc stop/waiting (failed: main process exited with status 1 after 1.0s"));
    }

    [Test]
    public async Task A_stop_during_the_grace_answers_the_start_and_the_stale_timer_changes_nothing()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", Flaky));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();

        var stop = h.Loop.StopAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync("svc", "main", ExitStatus.Killed(15));

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("svc stop/waiting"));
        await stop.Within();
        var restart = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.5)); // the first start's timer comes due here: stale
        Assert.That(restart.IsCompleted, Is.False, "the new start keeps its own grace");
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.6));
        Assert.That((await restart.Within())!.StatusLine(), Does.StartWith("svc start/running, process "));
    }
}
