namespace Supervisor.Core.Processes;

/// <summary>
/// The OS seam of the supervisor: spawn, signal, and report exits. The real one is <see cref="NativeProcessControl"/>;
/// tests drive the lifecycle with a fake. Exits and exec helpers' reports arrive through the handlers given to
/// <see cref="Start"/>, on the reaper's thread: the handlers must only post a message. A pid's report always comes
/// before its exit.
/// </summary>
public interface IProcessControl : IDisposable
{
    void Start(Action<ChildExit> onExit, Action<SpawnReport> onReport);

    /// <summary>
    /// Spawns a process in its own session and process group (pgid = pid). Through the exec helper, the result is
    /// <see cref="SpawnResult.ReportPending"/>: the pid is there (and may be signalled) and whether the job's program
    /// runs in it comes later, as a <see cref="SpawnReport"/>.
    /// </summary>
    SpawnResult Spawn(SpawnRequest request);

    /// <summary>Sends a signal to a live child we spawned (no effect once it was reaped).</summary>
    bool Signal(int pid, int signal);

    /// <summary>Sends a signal to every process of a process group; false when the group is gone.</summary>
    bool SignalGroup(int pgid, int signal);

    /// <summary>Completes when every output pipe opened so far has been drained to end of file.</summary>
    Task DrainOutputAsync(TimeSpan timeout);

    /// <summary>State, parent, group and session of a live process (from /proc); null when it is gone.</summary>
    ProcessInfo? Inspect(int pid);

    /// <summary>
    /// Live processes re-parented to supd (it is a subreaper) whose environment has <c>KEY=VALUE</c>, not yet tracked,
    /// and started no earlier than <paramref name="startedNotBefore"/> (clock ticks after boot, /proc/PID/stat's
    /// starttime): a process planted before the job's own first process is never taken for its daemon.
    /// </summary>
    IReadOnlyList<int> FindAdopted(string key, string value, ulong startedNotBefore);

    /// <summary>Now, in the unit of /proc/PID/stat's starttime (clock ticks after boot); read just before a spawn.</summary>
    ulong ClockTicksSinceBoot() => ProcFs.ClockTicksSinceBoot();

    /// <summary>Starts tracking an adopted child, so its exit is reported like a spawned one's; false when it is gone.</summary>
    bool Adopt(int pid);

    /// <summary>
    /// Starts following a process that is not supd's child (adopted after a restart of supd); its end is reported with
    /// <see cref="ExitStatus.Unknown"/>. False when it is gone.
    /// </summary>
    bool AdoptForeign(int pid) => Adopt(pid);

    /// <summary>Sends a signal to every process of a job instance's start (<see cref="SpawnRequest.Unit"/>): its cgroup, or its tagged processes.</summary>
    void SignalUnit(string key, int signal) { }

    /// <summary>How the exec helper is started (argv before its options); empty where there is none.</summary>
    IReadOnlyList<string> ExecHelperCommand => [];

    /// <summary>The fork server, for <c>supctl version</c>: its pid and what it did, or why there is none.</summary>
    string ForkServerDescription => "none";

    /// <summary>
    /// The fork server's pid (0 while none runs), the spawns the fork servers made and the times one failed (and was
    /// replaced), since this image of supd started.
    /// </summary>
    (int Pid, long Spawns, long Failures) ForkServerState => (0, 0, 0);

    /// <summary>Processes of the start the OOM killer ended so far (<see cref="Containment.IJobContainment.OomKills"/>).</summary>
    long OomKills(string key) => 0;

    /// <summary>
    /// The instance's start is over: strays get SIGTERM, SIGKILL after <paramref name="killTimeout"/>, and its cgroup
    /// goes (<see cref="Containment.IJobContainment.End"/>).
    /// </summary>
    void EndUnit(string key, TimeSpan killTimeout) { }

    /// <summary>
    /// For a re-exec: stops reaping and reading output, true once both stand still (every exit reaped so far reported,
    /// every chunk read written); false (nothing stopped) when that took longer than <paramref name="timeout"/>.
    /// </summary>
    bool Park(TimeSpan timeout) => false;

    /// <summary>Reaping and reading go on (a re-exec that did not happen).</summary>
    void Unpark() { }

    /// <summary>While parked: every output pipe being read, with the sink it feeds.</summary>
    IReadOnlyList<(int Fd, IOutputSink Sink)> OutputPipes() => [];

    /// <summary>
    /// Where a main process's output pipes are kept outside supd, so they outlive it (set once by the host before any
    /// spawn; null: not kept): called with a pipe's <see cref="KeptPipeName"/> and read end as it is made, and with its
    /// name once it is read to its end. Both must return at once (the loop spawns).
    /// </summary>
    (Action<string, int> Keep, Action<string> Forget)? PipeKeeper { get => null; set { } }

    /// <summary>Reads an output pipe the previous image handed over into <paramref name="sink"/>, as a spawn's; false when it cannot.</summary>
    bool AttachOutput(int fd, IOutputSink sink, string description, string? keptAs = null) => false;

    /// <summary>A process's start time (/proc/PID/stat's, clock ticks after boot), a zombie's too; null when there is no such pid.</summary>
    ulong? StartTimeOf(int pid) => State.ProcStat.Read(pid)?.StartTime;

    /// <summary>True when every orphan of a job comes to supd (a child subreaper, or PID 1): then a job's processes can be found from its main down.</summary>
    bool IsSubreaper => false;

    /// <summary>Whether supd tracks this pid now (a job process, spawned or adopted, or a helper); any thread, never waits.</summary>
    bool IsTracked(int pid) => false;

    /// <summary>The cgroup of a job instance's start (<see cref="SpawnRequest.Unit"/>), or null without one.</summary>
    string? UnitGroup(string key) => null;
}

/// <summary>What /proc says of a process: state letter (R, S, T for stopped, Z…), parent, process group, session, start time (clock ticks after boot).</summary>
public readonly record struct ProcessInfo(char State, int ParentPid, int ProcessGroup, int Session, ulong StartTime = 0)
{
    public bool IsStopped => State is 'T' or 't';
}

/// <summary>Everything needed to start one job process.</summary>
/// <param name="Description">"nagios main process", for messages.</param>
/// <param name="File">Absolute path of the program.</param>
/// <param name="Output">
/// Where stdout and stderr go; null means /dev/null (console none), or supd's own stdout and stderr when
/// <see cref="ProcessSettings.Console"/> is output or owner.
/// </param>
/// <param name="WorkingDirectory">The directory to run in (inside the chroot, if there is one).</param>
/// <param name="Settings">The job's per-process stanzas; null means none.</param>
/// <param name="Unit">The job instance's start the process belongs to: it is contained with the others of that start.</param>
/// <param name="ErrorOutput">Where stderr goes through a pipe of its own; null: with stdout, into <paramref name="Output"/>.</param>
public sealed record SpawnRequest(
    string Description,
    string File,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<string> Environment,
    string WorkingDirectory,
    IOutputSink? Output,
    ProcessSettings? Settings = null,
    Containment.ContainmentUnit? Unit = null,
    IOutputSink? ErrorOutput = null,
    bool KeepOutput = false);

/// <summary>
/// A pid, or why the process could not be started ("cannot run /usr/bin/x: No such file or directory"). A started
/// process may come with hints that could not be applied (<c>oom score -1000: Permission denied</c>).
/// </summary>
/// <param name="Transient">The failure was for want of a resource that comes back (EMFILE, ENFILE, EAGAIN, ENOMEM):
/// a respawning job tries again under its respawn rules instead of failing.</param>
/// <param name="ReportPending">Started through the exec helper: its <see cref="SpawnReport"/> (success with the hints
/// not applied, or the failure) is still to come.</param>
public readonly record struct SpawnResult(int Pid, string? Error, IReadOnlyList<string>? NotAppliedHints = null, bool Transient = false,
    bool ReportPending = false)
{
    public static SpawnResult Started(int pid, IReadOnlyList<string>? notApplied = null) => new(pid, null, notApplied);
    public static SpawnResult Reporting(int pid) => new(pid, null, ReportPending: true);
    public static SpawnResult Failed(string error, bool transient = false) => new(0, error, null, transient);
    public bool Succeeded => Error is null;
    public IReadOnlyList<string> NotApplied => NotAppliedHints ?? [];
}

/// <summary>Receives a job's captured output, as raw bytes, from any thread.</summary>
public interface IOutputSink
{
    void Write(ReadOnlySpan<byte> data);

    /// <summary>The pipe reached end of file: every writer (the process and its children) has closed it.</summary>
    void Completed() { }
}
