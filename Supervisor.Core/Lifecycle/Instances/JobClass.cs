using Supervisor.Core.Events;
using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// A loaded job: its definition, its <c>start on</c> matcher, and its live instances keyed by instance name
/// (<c>""</c> for a single-instance job). Owned by the supervisor loop.
/// </summary>
internal sealed class JobClass
{
    public JobClass(JobDefinition definition)
    {
        Definition = definition;
        StartOn = definition.StartOn is null ? null : new EventMatcher(definition.StartOn);
    }

    /// <summary>The definition new starts use; replaced by reload-configuration when the file changed.</summary>
    public JobDefinition Definition { get; private set; }
    public string Name => Definition.Name;
    public EventMatcher? StartOn { get; private set; }

    /// <summary>Removed from disk by reload-configuration: stopping, forgotten once its last instance is gone.</summary>
    public bool Removed { get; set; }

    /// <summary>A new definition from disk; its <c>start on</c> matcher starts afresh. Instances keep theirs until they next start.</summary>
    public void Redefine(JobDefinition definition)
    {
        Definition = definition;
        StartOn = definition.StartOn is null ? null : new EventMatcher(definition.StartOn);
    }
    public Dictionary<string, JobInstance> Instances { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How many instances have a <c>stop on</c> (kept by <see cref="JobInstance.StopOn"/>): every event is offered to
    /// each one that has, and a job whose instances have none (10 000 of one job) is passed by without a walk.
    /// </summary>
    public int InstancesWithStopOn { get; set; }

    // What the last instance left behind, so status can tell "never started" from "failed a second ago".
    public ProcessExitRecord? LastExit { get; set; }
    public string? LastFailure { get; set; }

    /// <summary>Why the last instance stopped (see <see cref="JobStatusSnapshot.StopReason"/>); null if none has run.</summary>
    public string? LastStop { get; set; }

    /// <summary>When the last instance ended (the job has been stopped since); null if none has run.</summary>
    public DateTimeOffset? StoppedSince { get; set; }

    /// <summary>The "started by its own events" warning was logged (once per job).</summary>
    public bool WarnedSelfTriggered { get; set; }
}
