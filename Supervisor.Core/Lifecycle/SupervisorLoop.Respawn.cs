using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Lifecycle;

// supd's respawn delay (back-off): after a crash's post-stop the instance waits in "respawning" before it starts
// again, for the delay RespawnPolicy decided; the wait is the instance's deadline.
public sealed partial class SupervisorLoop
{
    private RespawnPolicy? _respawnPolicy;
    private RespawnPolicy Respawns => _respawnPolicy ??= new RespawnPolicy(_time, _options);

    /// <summary>The delay before the coming respawn, or null for Upstart's immediate one (no delay set).</summary>
    private TimeSpan? NextRespawnDelay(JobInstance instance) =>
        Respawns.NextDelay(instance.Definition.RespawnDelay, instance.Respawn, instance.MainStarted);

    private bool RespawningTooFast(JobInstance instance) => Respawns.TooFast(instance.Definition.RespawnLimit, instance.Respawn);

    /// <summary>Entering respawning: the deadline is the end of the delay the crash decided on.</summary>
    private void ArmRespawnDelay(JobInstance instance)
    {
        var delay = instance.Respawn.DelayDue ?? TimeSpan.Zero;
        instance.Respawn.DelayDue = null;
        instance.Deadline.Arm(_time, delay, DeadlineFor(instance));
    }

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "{Job} main process ended, respawning in {Delay:0.0}s")]
    private partial void LogRespawningAfter(string job, double delay);

    [LoggerMessage(EventId = 411, Level = LogLevel.Information, Message = "{Job} respawn delay cut short by start")]
    private partial void LogRespawnCutShort(string job);

    [LoggerMessage(EventId = 431, Level = LogLevel.Warning, Message = "{Job} main process could not be spawned ({Error}); trying again in {Delay}s under its respawn rules")]
    private partial void LogSpawnRetry(string job, string error, double delay);
}
