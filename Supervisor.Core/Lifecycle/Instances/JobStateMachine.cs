namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The whole of Upstart's next-state table (spec §7) in one pure function: given where an instance is and what it
/// was asked, where does it go next? It has no side effects; entering a state (spawning, emitting, killing) is the
/// loop's job. Goal changes only induce a transition from the rest states <c>waiting</c> and <c>running</c>;
/// elsewhere the loop calls this when the current step (script, event, kill) completes.
/// </summary>
public static class JobStateMachine
{
    /// <param name="respawnDelayed">A respawn with a <c>respawn delay</c> is under way: post-stop goes to respawning, not starting.</param>
    public static JobState Next(JobState state, JobGoal goal, bool mainAlive, bool respawnDelayed = false) => (state, goal) switch
    {
        (JobState.Waiting, JobGoal.Start) => JobState.Starting,
        (JobState.Starting, JobGoal.Start) => JobState.Security,
        (JobState.Starting, JobGoal.Stop) => JobState.Stopping,
        (JobState.Security, JobGoal.Start) => JobState.PreStart,
        (JobState.Security, JobGoal.Stop) => JobState.Stopping,
        (JobState.PreStart, JobGoal.Start) => JobState.Spawned,
        (JobState.PreStart, JobGoal.Stop) => JobState.Stopping,
        (JobState.Spawned, JobGoal.Start) => JobState.PostStart,
        (JobState.Spawned, JobGoal.Stop) => JobState.Stopping,
        (JobState.PostStart, JobGoal.Start) => JobState.Running,
        (JobState.PostStart, JobGoal.Stop) => JobState.Stopping,
        // Goal start while running is the respawn path: the main process died and must run again.
        (JobState.Running, JobGoal.Start) => JobState.Stopping,
        (JobState.Running, JobGoal.Stop) => mainAlive ? JobState.PreStop : JobState.Stopping,
        // Goal start while pre-stop runs cancels the stop.
        (JobState.PreStop, JobGoal.Start) => JobState.Running,
        (JobState.PreStop, JobGoal.Stop) => JobState.Stopping,
        (JobState.Stopping, _) => JobState.Killed,
        (JobState.Killed, _) => JobState.PostStop,
        (JobState.PostStop, JobGoal.Start) => respawnDelayed ? JobState.Respawning : JobState.Starting,
        (JobState.PostStop, JobGoal.Stop) => JobState.Waiting,
        // supd: the respawn delay ran out (or start cut it short); a stop while waiting ends the job there.
        (JobState.Respawning, JobGoal.Start) => JobState.Starting,
        (JobState.Respawning, JobGoal.Stop) => JobState.Waiting,
        _ => throw new InvalidOperationException($"No next state from {state.Name()} with goal {goal.Name()}"),
    };

    /// <summary>States in which an instance rests until its goal changes.</summary>
    public static bool IsRest(JobState state) => state is JobState.Waiting or JobState.Running;
}
