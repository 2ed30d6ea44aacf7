using NUnit.Framework;
using Supervisor.Core.State;

namespace Supervisor.Tests.Core.State;

/// <summary>The record of goals set by hand, without a loop: what supersedes what, and what the state file gets.</summary>
[TestFixture]
public sealed class GoalRecordTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Test]
    public void AStopByHandReplacesAStartByHandAndTheOtherWayRound()
    {
        var goals = new GoalRecord();
        goals.StartedByHand("web", "", ["PORT=80"], untrusted: false);
        goals.StoppedByHand("web", "", "alice (uid 1000)", At);
        var state = goals.ToGoalState("boot", []);
        Assert.That(state.StartedByHand, Is.Empty);
        Assert.That(state.StoppedByHand.Single(), Is.EqualTo(new InstanceGoal("web", "", []) { By = "alice (uid 1000)", At = At }));
        Assert.That(goals.StoppedBy("web", ""), Is.EqualTo(((string?)"alice (uid 1000)", (DateTimeOffset?)At)));

        goals.StartedByHand("web", "", ["PORT=81"], untrusted: true);
        state = goals.ToGoalState("boot", []);
        Assert.That(state.StoppedByHand, Is.Empty);
        Assert.That(goals.StoppedBy("web", ""), Is.Null);
        Assert.That(state.StartedByHand.Single(), Is.EqualTo(new InstanceGoal("web", "", ["PORT=81"], Untrusted: true)).Using(new GoalComparer()));
    }

    [Test]
    public void ARestoredStopHoldsOnlyAgainstBootEventsAndGoesOnceAnyOtherEventStartsIt()
    {
        var goals = new GoalRecord();
        goals.RestoreStop(new InstanceGoal("web", "", []) { By = "bob", At = At });
        Assert.That(goals.HoldsThroughBoot("web", "", () => true), Is.True);
        Assert.That(goals.HoldsThroughBoot("web", "", () => true), Is.True, "still held while only boot events come");
        goals.Dirty = false;
        Assert.That(goals.HoldsThroughBoot("web", "", () => false), Is.False);
        Assert.That(goals.Dirty, Is.True);
        Assert.That(goals.ToGoalState("boot", []).StoppedByHand, Is.Empty);
        Assert.That(goals.HoldsThroughBoot("web", "", () => true), Is.False, "superseded for good");
    }

    [Test]
    public void AStopByHandInThisRunIsNoHoldAtAll()
    {
        var goals = new GoalRecord();
        goals.StoppedByHand("web", "", null, At);
        Assert.That(goals.HoldsThroughBoot("web", "", () => true), Is.False);
        Assert.That(goals.StoppedBy("web", ""), Is.Null, "the start that follows supersedes it");
    }

    [Test]
    public void ASecondDisableKeepsTheFirstsAuthorAndEnableForgetsIt()
    {
        var goals = new GoalRecord();
        Assert.That(goals.Disable("web", "alice", At), Is.True);
        Assert.That(goals.Disable("web", "bob", At.AddHours(1)), Is.False);
        Assert.That(goals.Disabled("web"), Is.EqualTo(new DisabledJob("web", "alice", At)));
        Assert.That(goals.IsDisabled("web"), Is.True);
        Assert.That(goals.Enable("web"), Is.True);
        Assert.That(goals.Enable("web"), Is.False);
        Assert.That(goals.IsDisabled("web"), Is.False);
    }

    [Test]
    public void RestoredTextIsBoundedAndEmptyOrNamelessDisabledEntriesAreRefused()
    {
        var goals = new GoalRecord();
        var longBy = new string('x', GoalRecord.MaxGoalText + 10);
        goals.RestoreStop(new InstanceGoal("web", "", []) { By = longBy });
        Assert.That(goals.StoppedBy("web", "")!.Value.By, Has.Length.EqualTo(GoalRecord.MaxGoalText));
        Assert.That(goals.RestoreDisabled(new DisabledJob("", "alice", At)), Is.False);
        Assert.That(goals.RestoreDisabled(new DisabledJob(new string('j', GoalRecord.MaxGoalText + 1), "alice", At)), Is.False);
        Assert.That(goals.RestoreDisabled(new DisabledJob("db", longBy, At)), Is.True);
        Assert.That(goals.Disabled("db")!.By, Has.Length.EqualTo(GoalRecord.MaxGoalText));
    }

    [Test]
    public void StartsByHandLastWhileTheirInstanceDoes()
    {
        var goals = new GoalRecord();
        goals.StartedByHand("task", "", [], untrusted: true);
        goals.StartedByHand("web", "a", [], untrusted: false);
        goals.RestartedByHand("web", "a", ["X=1"]);
        goals.RestartedByHand("other", "", ["X=1"]); // not started by hand: nothing to keep
        goals.ForgetEndedStarts((job, _) => job == "web");
        var state = goals.ToGoalState("boot", []);
        Assert.That(state.StartedByHand.Select(g => (g.Job, g.Instance, string.Join(' ', g.Variables), g.Untrusted)),
            Is.EqualTo(new[] { ("web", "a", "X=1", false) }));
    }

    [Test]
    public void TheStateFileListsGoalsInOrdinalOrder()
    {
        var goals = new GoalRecord();
        foreach (var job in new[] { "b", "a", "B" }) goals.StoppedByHand(job, "", null, At);
        foreach (var job in new[] { "z", "y" }) goals.Disable(job, "alice", At);
        var state = goals.ToGoalState("the-boot", []);
        Assert.That(state.BootId, Is.EqualTo("the-boot"));
        Assert.That(state.StoppedByHand.Select(g => g.Job), Is.EqualTo(new[] { "B", "a", "b" }));
        Assert.That(state.Disabled.Select(d => d.Job), Is.EqualTo(new[] { "y", "z" }));
    }

    // InstanceGoal holds a list: compare it by its items.
    private sealed class GoalComparer : IEqualityComparer<InstanceGoal>
    {
        public bool Equals(InstanceGoal? x, InstanceGoal? y) =>
            x is not null && y is not null && x.Job == y.Job && x.Instance == y.Instance && x.Untrusted == y.Untrusted
            && x.Variables.SequenceEqual(y.Variables) && x.By == y.By && x.At == y.At;

        public int GetHashCode(InstanceGoal obj) => obj.Job.GetHashCode(StringComparison.Ordinal);
    }
}
