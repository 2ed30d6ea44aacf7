using NUnit.Framework;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>Every cell of spec §7's next-state table.</summary>
[TestFixture]
public sealed class JobStateMachineTests
{
    private static IEnumerable<TestCaseData> Table()
    {
        // (state, goal, main alive) → next
        yield return Case(JobState.Waiting, JobGoal.Start, false, JobState.Starting);
        yield return Case(JobState.Starting, JobGoal.Start, false, JobState.Security);
        yield return Case(JobState.Starting, JobGoal.Stop, false, JobState.Stopping);
        yield return Case(JobState.Security, JobGoal.Start, false, JobState.PreStart);
        yield return Case(JobState.Security, JobGoal.Stop, false, JobState.Stopping);
        yield return Case(JobState.PreStart, JobGoal.Start, false, JobState.Spawned);
        yield return Case(JobState.PreStart, JobGoal.Stop, false, JobState.Stopping);
        yield return Case(JobState.Spawned, JobGoal.Start, true, JobState.PostStart);
        yield return Case(JobState.Spawned, JobGoal.Stop, true, JobState.Stopping);
        yield return Case(JobState.PostStart, JobGoal.Start, true, JobState.Running);
        yield return Case(JobState.PostStart, JobGoal.Stop, true, JobState.Stopping);
        yield return Case(JobState.Running, JobGoal.Start, false, JobState.Stopping);
        yield return Case(JobState.Running, JobGoal.Stop, true, JobState.PreStop);
        yield return Case(JobState.Running, JobGoal.Stop, false, JobState.Stopping);
        yield return Case(JobState.PreStop, JobGoal.Start, true, JobState.Running);
        yield return Case(JobState.PreStop, JobGoal.Stop, true, JobState.Stopping);
        yield return Case(JobState.Stopping, JobGoal.Start, false, JobState.Killed);
        yield return Case(JobState.Stopping, JobGoal.Stop, true, JobState.Killed);
        yield return Case(JobState.Killed, JobGoal.Start, false, JobState.PostStop);
        yield return Case(JobState.Killed, JobGoal.Stop, false, JobState.PostStop);
        yield return Case(JobState.PostStop, JobGoal.Start, false, JobState.Starting);
        yield return Case(JobState.PostStop, JobGoal.Stop, false, JobState.Waiting);
        // supd's respawning state (respawn delay): entered only on a delayed respawn, left by the timer or a stop.
        yield return Case(JobState.Respawning, JobGoal.Start, false, JobState.Starting);
        yield return Case(JobState.Respawning, JobGoal.Stop, false, JobState.Waiting);
    }

    private static TestCaseData Case(JobState state, JobGoal goal, bool mainAlive, JobState next) =>
        new TestCaseData(state, goal, mainAlive).Returns(next).SetName($"{state.Name()} with goal {goal.Name()}{(mainAlive ? " (main alive)" : "")} goes to {next.Name()}");

    [TestCaseSource(nameof(Table))]
    public JobState Next_follows_upstarts_table(JobState state, JobGoal goal, bool mainAlive) =>
        JobStateMachine.Next(state, goal, mainAlive);

    [Test]
    public void A_delayed_respawn_goes_from_post_stop_to_respawning()
    {
        Assert.That(JobStateMachine.Next(JobState.PostStop, JobGoal.Start, false, respawnDelayed: true), Is.EqualTo(JobState.Respawning));
        Assert.That(JobStateMachine.Next(JobState.PostStop, JobGoal.Stop, false, respawnDelayed: true), Is.EqualTo(JobState.Waiting));
    }

    [Test]
    public void Waiting_with_goal_stop_has_no_next_state()
    {
        Assert.That(() => JobStateMachine.Next(JobState.Waiting, JobGoal.Stop, false), Throws.InvalidOperationException);
    }

    [Test]
    public void Every_state_but_waiting_has_a_next_state_for_both_goals()
    {
        foreach (var state in Enum.GetValues<JobState>().Where(s => s != JobState.Waiting))
        foreach (var goal in Enum.GetValues<JobGoal>())
        foreach (var alive in new[] { false, true })
            Assert.That(() => JobStateMachine.Next(state, goal, alive), Throws.Nothing, $"{state} {goal} {alive}");
    }

    [Test]
    public void Only_waiting_and_running_are_rest_states()
    {
        Assert.That(Enum.GetValues<JobState>().Where(JobStateMachine.IsRest), Is.EqualTo(new[] { JobState.Waiting, JobState.Running }));
    }
}
