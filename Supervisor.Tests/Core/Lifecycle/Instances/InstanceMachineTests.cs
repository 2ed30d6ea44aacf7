using NUnit.Framework;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using static Supervisor.Core.Lifecycle.InstanceAction;
using static Supervisor.Core.Lifecycle.InstanceInput;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// Every cell of the instance's (state × input) action table: the cells that act are listed here, written again by
/// hand from the lifecycle's rules; every other cell of every row is asserted to be <see cref="InstanceAction.Nop"/>.
/// </summary>
[TestFixture]
public sealed class InstanceMachineTests
{
    private static readonly Dictionary<(JobState, InstanceInput), InstanceAction> Acting = new()
    {
        // A goal change acts at once only from a rest state, and ends an expect wait or a respawn delay.
        [(JobState.Waiting, GoalStart)] = Advance,
        [(JobState.Running, GoalStop)] = Advance,
        [(JobState.Spawned, GoalStop)] = Advance,
        [(JobState.Respawning, GoalStop)] = Advance,
        // Starting and stopping wait on their own event.
        [(JobState.Starting, Unblocked)] = Advance,
        [(JobState.Stopping, Unblocked)] = Advance,
        // Each hook state waits on its own hook.
        [(JobState.PreStart, PreStartExited)] = Advance,
        [(JobState.PostStart, PostStartExited)] = Advance,
        [(JobState.PreStop, PreStopExited)] = Advance,
        [(JobState.PostStop, PostStopExited)] = Advance,
        // The main process's end, state by state.
        [(JobState.Waiting, MainExited)] = AnnounceMainExit,
        [(JobState.Starting, MainExited)] = AnnounceMainExit,
        [(JobState.Security, MainExited)] = AnnounceMainExit,
        [(JobState.PreStart, MainExited)] = AnnounceMainExit,
        [(JobState.Spawned, MainExited)] = SpawnedMainExit,
        [(JobState.PostStart, MainExited)] = HoldMainExit,
        [(JobState.Running, MainExited)] = RunningMainExit,
        [(JobState.PreStop, MainExited)] = HoldMainExit,
        [(JobState.Stopping, MainExited)] = AnnounceMainExit,
        [(JobState.Killed, MainExited)] = KilledMainExit,
        [(JobState.PostStop, MainExited)] = AnnounceMainExit,
        [(JobState.Respawning, MainExited)] = AnnounceMainExit,
        // The one deadline means what the state armed it for.
        [(JobState.Spawned, DeadlineReached)] = PollExpect,
        [(JobState.Running, DeadlineReached)] = EndStartGrace,
        [(JobState.Killed, DeadlineReached)] = KillHard,
        [(JobState.Respawning, DeadlineReached)] = Advance,
        [(JobState.Respawning, StartNow)] = CutRespawnShort,
    };

    private static IEnumerable<TestCaseData> EveryCell() =>
        from state in Enum.GetValues<JobState>()
        from input in Enum.GetValues<InstanceInput>()
        let expected = Acting.GetValueOrDefault((state, input), Nop)
        select new TestCaseData(state, input.ToString(), expected.ToString()).SetName($"{state.Name()} x {input} -> {expected}");

    // The input and action go by name: the enums are internal to Core, and an NUnit test method is public.
    [TestCaseSource(nameof(EveryCell))]
    public void Cell(JobState state, string input, string expected) =>
        Assert.That(InstanceMachine.Decide(state, Enum.Parse<InstanceInput>(input)).ToString(), Is.EqualTo(expected));

    [Test]
    public void EveryCellIsWalked() =>
        Assert.That(EveryCell().Count(), Is.EqualTo(Enum.GetValues<JobState>().Length * Enum.GetValues<InstanceInput>().Length));

    [Test]
    public void EachHookHasItsOwnColumnAndOtherProcessesNone()
    {
        Assert.That(InstanceMachine.HookExited(ProcessKind.PreStart), Is.EqualTo(PreStartExited));
        Assert.That(InstanceMachine.HookExited(ProcessKind.PostStart), Is.EqualTo(PostStartExited));
        Assert.That(InstanceMachine.HookExited(ProcessKind.PreStop), Is.EqualTo(PreStopExited));
        Assert.That(InstanceMachine.HookExited(ProcessKind.PostStop), Is.EqualTo(PostStopExited));
        Assert.That(InstanceMachine.HookExited(ProcessKind.Main), Is.Null);
        Assert.That(InstanceMachine.HookExited(ProcessKind.Check), Is.Null);
    }
}
