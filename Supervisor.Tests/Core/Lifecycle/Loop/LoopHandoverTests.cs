using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Handover;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// The loop's side of a re-exec, with the fake clock: it hands over only instances at rest, stands still until told
/// to resume, and the next loop takes a respawn delay back with exactly the time that was left.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class LoopHandoverTests
{
    private const string Flaky = "respawn\nrespawn delay 10\nexec /bin/false\n";

    [Test]
    public async Task A_respawn_delay_goes_over_with_the_time_left_and_ends_on_time_in_the_next_loop()
    {
        HandedInstance handed;
        await using (var before = await LoopHarness.CreateAsync(("svc", Flaky)))
        {
            await before.Loop.StartAsync("svc", []).Within();
            await before.ExitAsync("svc", "main", ExitStatus.Exited(1));
            var due = (await before.Loop.StatusAsync("svc", [])).NextRespawn!.Value;
            await before.AdvanceAsync(TimeSpan.FromSeconds(4));

            var resume = new TaskCompletionSource();
            var instances = await before.Loop.FreezeForHandoverAsync(resume.Task).Within();
            resume.SetResult();
            handed = instances.Single();
            Assert.That(handed.State, Is.EqualTo("respawning"));
            Assert.That(handed.DeadlineMs, Is.EqualTo((long)(due - TimeSpan.FromSeconds(4)).TotalMilliseconds).Within(1));
            Assert.That(handed.Respawns.Count, Is.EqualTo(1));
        }

        await using var after = await LoopHarness.CreateAsync(("svc", Flaky));
        var problems = await after.Loop.AdoptAsync(new HandoverState { Instances = [handed] }).Within();
        Assert.That(problems, Is.Empty);
        Assert.That(await after.StatusAsync("svc"), Does.StartWith("svc start/respawning, next in "));

        await after.AdvanceAsync(TimeSpan.FromMilliseconds(handed.DeadlineMs - 50));
        Assert.That(after.Processes.Spawns, Is.Empty, "not before the delay's end");
        await after.AdvanceAsync(TimeSpan.FromMilliseconds(100));
        Assert.That(after.Processes.Spawns, Has.Count.EqualTo(1));
        Assert.That(await after.StatusAsync("svc"), Does.StartWith("svc start/running, process "));
        Assert.That((await after.Loop.StatusAsync("svc", [])).RespawnCount, Is.EqualTo(1), "the tally went over too (a fresh instance has 0)");
    }

    [Test]
    public async Task A_respawn_delay_recorded_for_the_next_supd_is_taken_back_after_a_restart()
    {
        HandedInstance survivor;
        TimeSpan due;
        await using (var before = await LoopHarness.CreateAsync(("svc", Flaky)))
        {
            var store = new LastSaved();
            await before.Loop.RestoreGoalsAsync(GoalState.Empty, store, "boot-1").Within();
            await before.Loop.StartAsync("svc", []).Within();
            await before.ExitAsync("svc", "main", ExitStatus.Exited(1));
            due = (await before.Loop.StatusAsync("svc", [])).NextRespawn!.Value;
            await before.SettleAsync();

            // What goals.json would hold: the instance, its delay's rest, its tally, and no job text or open pipe.
            var recorded = store.State!.Survivors!;
            Assert.That(recorded.BootId, Is.EqualTo("boot-1"));
            survivor = recorded.Instances.Single();
            Assert.That(survivor.State, Is.EqualTo("respawning"));
            Assert.That(survivor.DeadlineMs, Is.EqualTo((long)due.TotalMilliseconds).Within(1));
            Assert.That(survivor.Respawns.Count, Is.EqualTo(1));
            Assert.That(survivor.DefinitionSource, Is.Empty);
            Assert.That(HandoverFile.Check(recorded, "boot-1", recorded: true), Is.Null);
        }

        await using var after = await LoopHarness.CreateAsync(("svc", Flaky));
        var problems = await after.Loop.AdoptAfterRestartAsync(new HandoverState { Instances = [survivor] }).Within();
        Assert.That(problems, Is.Empty);
        Assert.That(await after.StatusAsync("svc"), Does.StartWith("svc start/respawning, next in "));
        await after.AdvanceAsync(due + TimeSpan.FromMilliseconds(50));
        Assert.That(after.Processes.Spawns, Has.Count.EqualTo(1));
        Assert.That((await after.Loop.StatusAsync("svc", [])).RespawnCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_survivor_whose_job_file_is_gone_is_not_taken_back()
    {
        await using var after = await LoopHarness.CreateAsync(("other", Flaky));
        var survivor = new HandedInstance("gone", "", "respawning", 0, 0, 0, null, DateTimeOffset.UnixEpoch, [], [], false, "tag",
            new HandedRespawns(0, 0, 0, 0), 1000, true, []);
        var problems = await after.Loop.AdoptAfterRestartAsync(new HandoverState { Instances = [survivor] }).Within();
        Assert.That(problems, Is.EqualTo(new[] { "gone: its job file is gone or rejected; forgotten" }));
        Assert.That((await after.Loop.ListAsync()).Select(j => j.Job), Does.Not.Contain("gone"));
    }

    private sealed class LastSaved : Supervisor.Core.State.IGoalStore
    {
        public GoalState? State { get; private set; }

        public void Save(GoalState state) => State = state;
    }

    [Test]
    public async Task A_kill_timeout_under_way_goes_over_and_SIGKILL_comes_when_it_was_due()
    {
        const string Stubborn = "kill timeout 20\nexec /bin/sleep 100\n";
        HandedInstance handed;
        await using (var before = await LoopHarness.CreateAsync(("svc", Stubborn)))
        {
            await before.Loop.StartAsync("svc", []).Within();
            _ = before.Loop.StopAsync("svc", ["WHY=maintenance"], wait: false);
            await before.SettleAsync();
            Assert.That(await before.StatusAsync("svc"), Does.StartWith("svc stop/killed"), "SIGTERM sent, the main process ignores it");
            await before.AdvanceAsync(TimeSpan.FromSeconds(5));

            var resume = new TaskCompletionSource();
            handed = (await before.Loop.FreezeForHandoverAsync(resume.Task).Within()).Single();
            resume.SetResult();
        }
        Assert.That((handed.State, handed.Goal), Is.EqualTo(("killed", "stop")));
        Assert.That(handed.DeadlineMs, Is.EqualTo(15_000));
        Assert.That(handed.StopVariables, Is.EqualTo(new[] { new HandedVariable("WHY", "maintenance") }));

        await using var after = await LoopHarness.CreateAsync(("svc", Stubborn));
        after.Processes.Inherited.Add(handed.MainPid);
        Assert.That(await after.Loop.AdoptAsync(new HandoverState { Instances = [handed] }).Within(), Is.Empty);
        Assert.That(await after.StatusAsync("svc"), Does.StartWith($"svc stop/killed, process {handed.MainPid}"));

        await after.AdvanceAsync(TimeSpan.FromMilliseconds(14_900));
        Assert.That(after.Processes.SignalsSent.Where(s => s.Signal == Signals.SIGKILL), Is.Empty, "not before the kill timeout's end");
        await after.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        Assert.That(after.Processes.SignalsSent, Does.Contain((handed.MainPid, Signals.SIGKILL, true)));
        await after.ExitAsync(handed.MainPid, ExitStatus.Killed(Signals.SIGKILL));
        Assert.That(await after.StatusAsync("svc"), Is.EqualTo("svc stop/waiting"));
    }

    [Test]
    public async Task An_instance_between_states_holds_the_handover_back_with_the_reason()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "pre-start exec /bin/true\nexec /bin/sleep 100\n"));
        _ = h.Loop.StartAsync("svc", [], wait: false);
        await h.SettleAsync();

        var refused = Assert.ThrowsAsync<SupervisorException>(() => h.Loop.FreezeForHandoverAsync(Task.CompletedTask).Within());
        Assert.That(refused!.Message, Is.EqualTo("svc is pre-start"));

        await h.ExitAsync("svc", "pre-start", ExitStatus.Exited(0));
        var resume = new TaskCompletionSource();
        var instances = await h.Loop.FreezeForHandoverAsync(resume.Task).Within();
        resume.SetResult();
        Assert.That(instances.Single().State, Is.EqualTo("running"));
        Assert.That(instances.Single().MainPid, Is.EqualTo(h.Processes.PidOf("svc", "main")));
    }

    [Test]
    public async Task The_loop_stands_still_until_resumed()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        var resume = new TaskCompletionSource();
        await h.Loop.FreezeForHandoverAsync(resume.Task).Within();

        var start = h.Loop.StartAsync("svc", []);
        await Task.Delay(200);
        Assert.That(start.IsCompleted, Is.False, "a request waits while the loop is frozen");
        Assert.That(h.Processes.Spawns, Is.Empty);

        resume.SetResult();
        await start.Within();
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(1));
    }
}
