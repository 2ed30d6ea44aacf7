namespace Supervisor.Core.Lifecycle;

/// <summary>What happens to an instance, as the machine sees it: one column of <see cref="InstanceMachine"/>'s table.</summary>
internal enum InstanceInput
{
    /// <summary>The goal became start (the goal itself is recorded before the table is asked).</summary>
    GoalStart,

    /// <summary>The goal became stop.</summary>
    GoalStop,

    /// <summary>The starting/stopping event the instance waits on has finished.</summary>
    Unblocked,

    PreStartExited,
    PostStartExited,
    PreStopExited,
    PostStopExited,

    /// <summary>The main process ended (the exit is recorded, and a failing hook's exit rule applied, before).</summary>
    MainExited,

    /// <summary>The instance's one deadline (<see cref="InstanceDeadline"/>) was reached.</summary>
    DeadlineReached,

    /// <summary><c>start</c> or <c>restart</c> while a respawn delay runs: start now.</summary>
    StartNow,
}

/// <summary>What the loop does for one (state, input) cell; named after s6-supervise's small verbs.</summary>
internal enum InstanceAction
{
    /// <summary>Nothing now: the goal is recorded and the current step picks it up when it ends, or the input is stale.</summary>
    Nop,

    /// <summary>The current step is over: go to <see cref="JobStateMachine.Next"/> and on while states complete at once.</summary>
    Advance,

    /// <summary>Main ended while stopping it (killed): announce it and go on to post-stop.</summary>
    KilledMainExit,

    /// <summary>Main ended during an expect wait: the fork expected, or a failed start.</summary>
    SpawnedMainExit,

    /// <summary>Main ended while post-start or pre-stop runs: held until that script ends.</summary>
    HoldMainExit,

    /// <summary>Main ended while running: the exit rules decide stop, respawn or failure.</summary>
    RunningMainExit,

    /// <summary>Main ended where the states move on by themselves: only announce it.</summary>
    AnnounceMainExit,

    /// <summary>Kill timeout: SIGKILL to the main process's group.</summary>
    KillHard,

    /// <summary>Look whether the main process did what <c>expect</c> said.</summary>
    PollExpect,

    /// <summary>The start grace is over with main still up: answer the start's waiters.</summary>
    EndStartGrace,

    /// <summary>Log that a start cut the respawn delay short, and start.</summary>
    CutRespawnShort,
}

/// <summary>
/// Overview: an instance's behaviour as s6-supervise's <c>actions[state][input]</c> table, written out cell by cell,
/// so no cell is undefined and a new input is a new column (InstanceMachineTests walks every cell).
///
/// It only answers "what now?"; <see cref="JobStateMachine.Next"/> answers "where next?" (spec §7), and entering a
/// state (spawning a process, emitting and blocking on an event, arming the deadline) is the loop's <c>Enter</c>.
/// Rest states (waiting, running) act on a goal change at once; every other state waits for its step (event, script,
/// kill, delay) to end, which is its own input.
/// </summary>
internal static class InstanceMachine
{
    private const InstanceAction Nop = InstanceAction.Nop, Advance = InstanceAction.Advance,
        KilledExit = InstanceAction.KilledMainExit, SpawnedExit = InstanceAction.SpawnedMainExit,
        Hold = InstanceAction.HoldMainExit, RunningExit = InstanceAction.RunningMainExit,
        Announce = InstanceAction.AnnounceMainExit, KillHard = InstanceAction.KillHard,
        Poll = InstanceAction.PollExpect, Grace = InstanceAction.EndStartGrace, CutShort = InstanceAction.CutRespawnShort;

    // Rows in JobState order, columns in InstanceInput order:
    //                 GoalStart GoalStop Unblocked PreStartX PostStartX PreStopX PostStopX MainExited   Deadline StartNow
    private static readonly InstanceAction[,] Actions =
    {
        /* waiting    */ { Advance, Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     Announce,    Nop,      Nop },
        /* starting   */ { Nop,     Nop,     Advance, Nop,     Nop,     Nop,     Nop,     Announce,    Nop,      Nop },
        /* security   */ { Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     Announce,    Nop,      Nop },
        /* pre-start  */ { Nop,     Nop,     Nop,     Advance, Nop,     Nop,     Nop,     Announce,    Nop,      Nop },
        /* spawned    */ { Nop,     Advance, Nop,     Nop,     Nop,     Nop,     Nop,     SpawnedExit, Poll,     Nop },
        /* post-start */ { Nop,     Nop,     Nop,     Nop,     Advance, Nop,     Nop,     Hold,        Nop,      Nop },
        /* running    */ { Nop,     Advance, Nop,     Nop,     Nop,     Nop,     Nop,     RunningExit, Grace,    Nop },
        /* pre-stop   */ { Nop,     Nop,     Nop,     Nop,     Nop,     Advance, Nop,     Hold,        Nop,      Nop },
        /* stopping   */ { Nop,     Nop,     Advance, Nop,     Nop,     Nop,     Nop,     Announce,    Nop,      Nop },
        /* killed     */ { Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     KilledExit,  KillHard, Nop },
        /* post-stop  */ { Nop,     Nop,     Nop,     Nop,     Nop,     Nop,     Advance, Announce,    Nop,      Nop },
        /* respawning */ { Nop,     Advance, Nop,     Nop,     Nop,     Nop,     Nop,     Announce,    Advance,  CutShort },
    };

    public static InstanceAction Decide(JobState state, InstanceInput input) => Actions[(int)state, (int)input];

    /// <summary>The column for the end of a hook of <paramref name="kind"/>; null for a process that is no hook.</summary>
    public static InstanceInput? HookExited(Processes.ProcessKind kind) => kind switch
    {
        Processes.ProcessKind.PreStart => InstanceInput.PreStartExited,
        Processes.ProcessKind.PostStart => InstanceInput.PostStartExited,
        Processes.ProcessKind.PreStop => InstanceInput.PreStopExited,
        Processes.ProcessKind.PostStop => InstanceInput.PostStopExited,
        _ => null,
    };
}
