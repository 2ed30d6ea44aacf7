namespace Supervisor.Core.Lifecycle;

/// <summary>What was asked of a job instance: to be started or to be stopped (spec §7).</summary>
public enum JobGoal { Stop, Start }

/// <summary>
/// Where a job instance is in its life (Upstart 1.12's classic set, spec §7), plus supd's <c>respawning</c>: after a
/// crash's post-stop, waiting out a <c>respawn delay</c> before starting again.
/// </summary>
public enum JobState { Waiting, Starting, Security, PreStart, Spawned, PostStart, Running, PreStop, Stopping, Killed, PostStop, Respawning }

public static class JobStateNames
{
    public static string Name(this JobGoal goal) => goal == JobGoal.Start ? "start" : "stop";

    public static string Name(this JobState state) => state switch
    {
        JobState.Waiting => "waiting",
        JobState.Starting => "starting",
        JobState.Security => "security",
        JobState.PreStart => "pre-start",
        JobState.Spawned => "spawned",
        JobState.PostStart => "post-start",
        JobState.Running => "running",
        JobState.PreStop => "pre-stop",
        JobState.Stopping => "stopping",
        JobState.Killed => "killed",
        JobState.PostStop => "post-stop",
        JobState.Respawning => "respawning",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
