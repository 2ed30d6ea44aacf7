using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The closed set of messages the supervisor loop acts on. Everything that happens to supd (a child exits, a timer
/// fires, a request arrives) becomes one of these and is handled on the loop, one at a time.
/// </summary>
internal abstract record SupervisorInput;

internal sealed record ChildExitedInput(ChildExit Exit) : SupervisorInput;

/// <summary>A query (status, list, definitions, log path) is waiting: it is answered before the next input is handled.</summary>
internal sealed record QueryInput : SupervisorInput;

/// <summary>The event queue stopped after a slice with work left: the loop goes on with it (after the inputs queued before).</summary>
internal sealed record ContinueEventsInput : SupervisorInput;

/// <summary>An exec helper reported whether the job's program runs in its pid (always before that pid's exit).</summary>
internal sealed record SpawnReportedInput(SpawnReport Report) : SupervisorInput;

/// <summary>
/// An instance's deadline (<see cref="InstanceDeadline"/>) was reached: what it meant is decided by the state the
/// instance is in (ignored if a newer deadline was armed or the instance changed state since).
/// </summary>
internal sealed record DeadlineReachedInput(JobInstance Instance, long Generation) : SupervisorInput;

/// <summary>A restart's or reload's check ran longer than <see cref="SupervisorOptions.CheckTimeout"/>.</summary>
/// <summary>An instance's health timer fired: run its check, or the running one's timeout is reached.</summary>
internal sealed record HealthTimerFiredInput(JobInstance Instance, long Generation) : SupervisorInput;

internal sealed record CheckTimerFiredInput(JobInstance Instance, CheckRun Check) : SupervisorInput;

internal sealed record LoadJobsInput(IReadOnlyList<JobDefinition> Jobs, TaskCompletionSource Reply) : SupervisorInput;

internal sealed record ListInput(TaskCompletionSource<IReadOnlyList<JobStatusSnapshot>> Reply) : SupervisorInput;

internal sealed record DefinitionsInput(string? Job, TaskCompletionSource<IReadOnlyList<JobDefinition>> Reply) : SupervisorInput;

internal sealed record StatusInput(
    string Job, IReadOnlyList<string> Environment, string? Instance, TaskCompletionSource<JobStatusSnapshot> Reply) : SupervisorInput;

internal enum JobCommand { Start, Stop, Restart, Reload }

/// <param name="Instance">Selects the instance by name (initctl inside a job); null selects it through the job's instance stanza.</param>
/// <param name="NoCheck">restart/reload: skip the job's <c>check</c> (also set once the check has passed).</param>
/// <param name="Restricted">The caller's name when it lacks admin: its variables pass only where the job declares them.</param>
/// <param name="By">Who asks ("alice (uid 1000)"), as the connection's credentials say; null for supd itself.</param>
internal sealed record JobCommandInput(
    JobCommand Command, string Job, IReadOnlyList<string> Environment, bool Wait, string? Instance,
    TaskCompletionSource<JobStatusSnapshot?> Reply, bool NoCheck = false, string? Restricted = null, string? By = null) : SupervisorInput;

/// <summary><c>supctl disable</c> (<paramref name="Enable"/> false) or <c>enable</c>.</summary>
internal sealed record DisableInput(string Job, bool Enable, string? By, TaskCompletionSource<JobStatusSnapshot> Reply) : SupervisorInput;

/// <summary>The log file of one instance, whether it runs or has finished.</summary>
internal sealed record LogPathInput(string Job, IReadOnlyList<string> Environment, string? Instance, TaskCompletionSource<string> Reply) : SupervisorInput;

internal sealed record BootEventsInput(IReadOnlyList<(string Name, string[] Environment)> Events, TaskCompletionSource Reply) : SupervisorInput;

/// <param name="Restricted">The caller's name when it lacks admin: the event's variables are marked untrusted.</param>
internal sealed record EmitInput(string Name, IReadOnlyList<string> Environment, bool Wait, TaskCompletionSource Reply, string? Restricted = null)
    : SupervisorInput;

internal sealed record ReloadConfigurationInput(JobLoadResult Loaded, TaskCompletionSource<ConfigurationChanges> Reply) : SupervisorInput;

internal sealed record RestoreGoalsInput(State.GoalState State, State.IGoalStore Store, string BootId, TaskCompletionSource Reply) : SupervisorInput;

internal sealed record ShutdownInput(TaskCompletionSource Reply) : SupervisorInput;

internal sealed record KillEverythingInput(TaskCompletionSource Reply) : SupervisorInput;

/// <summary>
/// A re-exec asks the loop to stand still (reaper and pumps parked already): the instances it hands over, or a refusal
/// saying why not now; after a reply the loop waits for <paramref name="Resume"/> (set only if the exec failed).
/// </summary>
internal sealed record HandoverInput(Task Resume, TaskCompletionSource<IReadOnlyList<Handover.HandedInstance>> Reply) : SupervisorInput;

/// <summary>In the new image, after the jobs are loaded: the handed instances taken back (problems, one line each).</summary>
internal sealed record AdoptInput(Handover.HandoverState State, TaskCompletionSource<IReadOnlyList<string>> Reply, bool AfterRestart = false) : SupervisorInput;

/// <summary>supd exits leaving its jobs running (<c>systemctl restart</c>): the survivors saved, then the loop ends.</summary>
internal sealed record LeaveInput(TaskCompletionSource Reply) : SupervisorInput;
