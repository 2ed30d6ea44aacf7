using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// One running (or starting, or stopping) copy of a job. All of its fields are read and written only on the
/// supervisor loop; the control API sees it through <see cref="JobStatusSnapshot"/>.
/// </summary>
internal sealed class JobInstance
{
    public JobInstance(JobClass jobClass, string name, JobLogFile? log)
    {
        Class = jobClass;
        Definition = jobClass.Definition;
        Name = name;
        Log = log;
        StopOn = Definition.StopOn is null ? null : new EventMatcher(Definition.StopOn);
    }

    public JobClass Class { get; }

    /// <summary>The definition this instance was started with (kept when the file changes on disk until it next starts).</summary>
    public JobDefinition Definition { get; private set; }

    /// <summary>The definition on disk differs from the one this instance runs.</summary>
    public bool ChangedOnDisk => !ReferenceEquals(Definition, Class.Definition);

    /// <summary>After a re-exec: the definition the instance ran under before it (the file may have changed since).</summary>
    public void KeepDefinition(JobDefinition definition)
    {
        Definition = definition;
        StopOn = definition.StopOn is null ? null : new EventMatcher(definition.StopOn);
    }

    /// <summary>Takes the job's current definition (at a start): its <c>stop on</c> matcher starts afresh.</summary>
    public void Redefine()
    {
        Definition = Class.Definition;
        StopOn = Definition.StopOn is null ? null : new EventMatcher(Definition.StopOn);
    }
    public string Name { get; }
    public string DisplayName => StatusLineFormat.DisplayName(Class.Name, Name);
    public JobLogFile? Log { get; }

    public JobGoal Goal { get; set; } = JobGoal.Stop;
    public JobState State { get; set; } = JobState.Waiting;

    /// <summary>
    /// The instance's environment (spec §4): class env, env-file values, then the start variables. Used for
    /// <c>stop on</c> expansion and exported variables; each process gets it plus UPSTART_* (ProcessEnvironment).
    /// </summary>
    public EnvironmentList Environment { get; set; } = new();

    /// <summary>Looks a variable up in <see cref="Environment"/> (whichever list it is now); one delegate per instance,
    /// so offering every event to <c>stop on</c> allocates nothing.</summary>
    public Func<string, string?> Lookup => _lookup ??= key => Environment.Get(key);
    private Func<string, string?>? _lookup;

    /// <summary>What the start request or the events gave (K=V, event variables, UPSTART_EVENTS), kept for respawns.</summary>
    public EnvironmentList StartVariables { get; set; } = new();

    /// <summary>The start variables the next start adopts (set by a start request or event while the goal changes).</summary>
    public EnvironmentList? PendingStartVariables { get; set; }

    /// <summary>Started by boot events (see <see cref="Event.Boot"/>): its job events are the boot's while those run.</summary>
    public bool StartedByBoot { get; set; }

    /// <summary>Why the goal became stop ("by hand, by alice (uid 1000)", "by stop on: …"); cleared at each start.</summary>
    public string? StopCause { get; set; }

    /// <summary>Values read from the job's env-files for the current start (re-read by each start's first process).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> EnvFileValues { get; set; } = [];
    public bool EnvFilesRead { get; set; }

    /// <summary>Hints (nice, oom score) the kernel refused for this instance's processes; they run without.</summary>
    public List<string> NotApplied { get; } = [];

    /// <summary>Variables from <c>stop on</c> events or <c>stop JOB K=V</c>, for pre-stop and post-stop.</summary>
    public EnvironmentList StopEnvironment { get; set; } = new();

    /// <summary>The instance's <c>stop on</c> matcher; its class counts the instances that have one (<see cref="JobClass.InstancesWithStopOn"/>).</summary>
    public EventMatcher? StopOn
    {
        get => _stopOn;
        private set
        {
            if (!_leftClass && (_stopOn is null) != (value is null)) Class.InstancesWithStopOn += value is null ? -1 : 1;
            _stopOn = value;
        }
    }
    private EventMatcher? _stopOn;
    private bool _leftClass;

    /// <summary>The instance is gone from its class's instances (it stopped): no longer counted there.</summary>
    public void LeaveClass()
    {
        if (!_leftClass && _stopOn is not null) Class.InstancesWithStopOn--;
        _leftClass = true;
    }

    /// <summary>Live process ids by kind; absent when not running.</summary>
    public Dictionary<ProcessKind, int> Pids { get; } = [];

    /// <summary>
    /// Processes spawned through the exec helper whose report (did the program start?) is still to come: their pid is
    /// in <see cref="Pids"/>, and the step that spawned them goes on when the report is in (<c>OnSpawnReported</c>).
    /// </summary>
    public HashSet<ProcessKind> ReportsPending { get; } = [];

    public int MainPid => Pids.GetValueOrDefault(ProcessKind.Main);
    public bool MainAlive => MainPid != 0;
    public DateTimeOffset? MainStarted { get; set; }

    /// <summary>
    /// Set when supd adopted the main process after a restart of supd (it ran on while no supd did): it is not supd's
    /// child, so its end comes with an unknown status. Cleared when the main process goes.
    /// </summary>
    public DateTimeOffset? AdoptedAt { get; set; }

    /// <summary>The main process ended while post-start or pre-stop ran; acted on when that script ends.</summary>
    public (int Pid, ExitStatus Status)? PendingMainExit { get; set; }

    /// <summary>The starting/stopping event this instance waits on.</summary>
    public Event? Blocker { get; set; }

    /// <summary>Events this instance holds until it reaches its rest state (those that started or stopped it).</summary>
    public List<Event> Blocking { get; } = [];

    /// <summary>Requests waiting for this instance to reach its goal.</summary>
    public List<InstanceWaiter> Waiters { get; } = [];

    /// <summary>The cycle's first failure (it wins); null when none, cleared when the instance next enters starting.</summary>
    public InstanceFailure? Failure { get; set; }
    public bool Failed => Failure is not null;

    public ProcessExitRecord? LastExit { get; set; }

    /// <summary>When the instance entered its current state.</summary>
    public DateTimeOffset StateSince { get; set; }

    /// <summary>The last lines each kind of process wrote, for failure messages (replaced at each spawn of that kind).</summary>
    public Dictionary<ProcessKind, OutputTail> Outputs { get; } = [];

    /// <summary>Set when the process did not do what <c>expect</c> said (it is then supervised as it is).</summary>
    public string? ExpectProblem { get; set; }

    /// <summary>Respawns so far, the runaway window and the back-off (<see cref="RespawnPolicy"/>).</summary>
    public RespawnTally Respawn { get; } = new();

    /// <summary>Unique per start of this instance; the main process carries it as SUPD_TAG so its daemon can be found.</summary>
    public string Tag { get; set; } = "";

    /// <summary>Boot-clock ticks just before the main process was spawned: an expect candidate started earlier is not its daemon.</summary>
    public ulong MainSpawnedAfter { get; set; }

    /// <summary>The process group to signal: the main pid's own, or the adopted daemon's group after expect fork/daemon.</summary>
    public int MainProcessGroup { get; set; }

    /// <summary>The wait on <c>expect</c> of the current start (<see cref="ExpectFollower"/>); null before the first.</summary>
    public ExpectWait? Expect { get; set; }


    /// <summary>The check a restart or reload is waiting on (one at a time per instance).</summary>
    public CheckRun? Check { get; set; }

    /// <summary>The one deadline of the state the instance is in: kill timeout, expect poll, respawn delay or start grace.</summary>
    public InstanceDeadline Deadline { get; } = new();

    /// <summary>Its <c>health</c> check's timer, run and verdict (<see cref="HealthMonitor"/>).</summary>
    public HealthState Health { get; } = new();
}

/// <summary>Why an instance failed.</summary>
/// <param name="Process">The process that failed (<c>pre-start</c>, <c>main</c>…), or <c>respawn</c> for respawning too fast.</param>
/// <param name="Status">How it ended, when it ran.</param>
/// <param name="Reason">One line: "pre-start process exited with status 3".</param>
/// <param name="Output">What the failed process wrote; its last lines explain the failure.</param>
internal sealed record InstanceFailure(string Process, ExitStatus? Status, string Reason, OutputTail? Output)
{
    /// <summary>The failure of <paramref name="process"/> (null: respawning too fast), in one line unless <paramref name="reason"/> says it.</summary>
    public static InstanceFailure Of(JobInstance instance, ProcessKind? process, ExitStatus? status, string? spawnError, string? reason)
    {
        var definition = instance.Definition;
        return new InstanceFailure(
            process?.Name() ?? "respawn",
            status,
            reason ?? (process is null
                ? $"respawning too fast, more than {definition.RespawnLimit.Count} times in {definition.RespawnLimit.IntervalSeconds}s"
                : spawnError is not null
                    // A main program that cannot be run is the job's whole story: "nosuch: cannot run /usr/bin/x: …".
                    ? process == ProcessKind.Main && spawnError.StartsWith("cannot run ", StringComparison.Ordinal)
                        ? spawnError
                        : $"{process.Value.Name()} process failed to spawn: {spawnError}"
                    : $"{process.Value.Name()} process {status}"),
            // Respawning too fast (no process): the main process's last words say why it kept dying.
            spawnError is null ? instance.Outputs.GetValueOrDefault(process ?? ProcessKind.Main) : null);
    }
}

/// <summary>A running <c>check</c>: the request it gates, its output's last lines, its pid and timeout.</summary>
internal sealed class CheckRun(JobCommandInput request, OutputTail output)
{
    public JobCommandInput Request { get; } = request;
    public OutputTail Output { get; } = output;
    public int Pid { get; set; }
    public ITimer? Timer { get; set; }
    public bool TimedOut { get; set; }
}

/// <summary>A control request waiting for an instance: it completes when the instance reaches its goal or fails.</summary>
/// <param name="Restart">A restart: its failure is initctl's <c>Job failed to restart</c>.</param>
internal sealed record InstanceWaiter(JobGoal Goal, TaskCompletionSource<JobStatusSnapshot?> Reply, bool Restart = false);
