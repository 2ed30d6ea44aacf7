using Supervisor.Core.Events;
using Supervisor.Core.Handover;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The loop's side of a re-exec. Before: whether every instance is at rest (<see cref="NotReady"/>), then what each one
/// hands over (<see cref="Snapshot"/>). After, in the new image: the instances taken back (<see cref="Adopt"/>) with
/// their main processes (still supd's children: same pid), their output pipes, their respawn tallies and what was left
/// of their deadlines, and nothing announced: no job event, no state change, as if no exec had happened.
///
/// At rest means running (its main process and nothing else: no hook, check, health check or helper report under
/// way), respawning (a delay; its rest is handed over), killed (its kill timeout's rest is handed over) or waiting,
/// with no event in flight. Any other state holds the re-exec back until it passes (the daemon asks again for a
/// while, then refuses with the reason).
/// </summary>
internal sealed class LoopHandover(LoopContext loop, JobEnvironment environments, SpawnPath spawner, HealthMonitor health, EventQueue events)
{
    /// <summary>Why the instances cannot be handed over now (one line), or null.</summary>
    public string? NotReady()
    {
        // The instances first: an event in flight is mostly one waiting for an instance, which is the better reason.
        foreach (var instance in loop.Registry.AllInstances())
        {
            switch (instance.State)
            {
                case JobState.Waiting:
                    continue;
                case JobState.Running or JobState.Respawning or JobState.Killed:
                    foreach (var kind in instance.Pids.Keys)
                        if (kind != ProcessKind.Main) return $"{instance.DisplayName}: its {kind.Name()} process is running";
                    if (instance.ReportsPending.Count > 0) return $"{instance.DisplayName}: its main process is starting";
                    if (instance.Check is not null) return $"{instance.DisplayName}: its check is running";
                    if (instance.Waiters.Count > 0) return $"{instance.DisplayName}: a request waits for it";
                    continue;
                default:
                    return $"{instance.DisplayName} is {instance.State.Name()}";
            }
        }
        return events.InFlight > 0 ? $"{events.InFlight} events are still being handled" : null;
    }

    /// <summary>
    /// Every instance that lives on, with its output pipes: <paramref name="pipes"/> are the pump's (parked), matched
    /// to the instance by the sink they feed; a pipe of nobody handed over (a finished hook's, still held open by a
    /// child of it) is not carried and closes with the exec.
    /// </summary>
    public IReadOnlyList<HandedInstance> Snapshot(IReadOnlyList<(int Fd, IOutputSink Sink)> pipes)
    {
        var fds = new Dictionary<IOutputSink, int>(ReferenceEqualityComparer.Instance);
        foreach (var (fd, sink) in pipes) fds[sink] = fd;
        var now = loop.Time.GetUtcNow();
        var result = new List<HandedInstance>();
        foreach (var instance in loop.Registry.AllInstances())
        {
            if (instance.State is not (JobState.Running or JobState.Respawning or JobState.Killed)) continue;
            var handedPipes = new List<HandedPipe>();
            if (instance.Outputs.TryGetValue(ProcessKind.Main, out var tail))
            {
                Pipe(tail, errorStream: false);
                if (tail.Errors is { } errors) Pipe(errors, errorStream: true);
            }
            void Pipe(OutputTail sink, bool errorStream)
            {
                if (!fds.TryGetValue(sink, out var fd)) return; // read to its end already
                var (atLineStart, pending) = (sink.Inner as JobOutputWriter)?.LineState ?? (true, []);
                // Named as the keeper holds it, so the next image lets the keeper's copy go when the pipe ends.
                handedPipes.Add(new HandedPipe(ProcessKind.Main.Name(), errorStream, fd, atLineStart, Convert.ToBase64String(pending),
                    KeptPipeName.For(instance.Tag, instance.MainPid, errorStream)));
            }
            // A respawn delay or kill timeout whose end passed but is not handled yet ends at once in the new image.
            var left = instance.Deadline.At is { } at
                ? at > now ? (long)(at - now).TotalMilliseconds : instance.State is JobState.Respawning or JobState.Killed ? 0 : -1
                : -1;
            var main = instance.MainPid;
            var startTime = main == 0 ? 0 : loop.Processes.StartTimeOf(main)
                ?? throw new SupervisorException(SupervisorError.NotRunning, $"{instance.DisplayName}: the start time of its main process {main} cannot be read");
            result.Add(Hand(instance, instance.State.Name(), startTime, left, handedPipes, instance.Definition.SourceText));
        }
        return result;
    }

    /// <summary>
    /// What the next supd adopts should this one end without a handover (SIGKILL, a crash, or an exit that leaves the
    /// jobs running, as <c>systemctl restart</c> asks): the instances whose main process runs (running, or in
    /// post-start: the hook is not carried), those killed and waiting out their kill timeout, and those waiting out a
    /// respawn delay, each as a re-exec would hand it over, but with its pipes named (the pipe keeper holds them) rather
    /// than open, and without its job file's text (the next supd runs it under the file as it then reads). Taken on the
    /// loop after each burst of inputs (goals.json); <paramref name="startTime"/> reads a pid's start time (cached).
    /// </summary>
    public HandoverState Survivors(string bootId, Func<int, ulong?> startTime)
    {
        var now = loop.Time.GetUtcNow();
        var result = new List<HandedInstance>();
        foreach (var instance in loop.Registry.AllInstances())
        {
            var state = instance.State switch
            {
                JobState.Running or JobState.PostStart when instance.MainAlive && instance.Goal == JobGoal.Start && instance.ReportsPending.Count == 0 => "running",
                JobState.Killed when instance.MainAlive => "killed",
                JobState.Respawning => "respawning",
                _ => null,
            };
            if (state is null) continue;
            var main = instance.MainPid;
            ulong started = 0;
            if (main != 0)
            {
                if (startTime(main) is not { } known) continue; // gone this moment: its exit is on its way
                started = known;
            }
            var pipes = new List<HandedPipe>();
            if (main != 0 && instance.Outputs.TryGetValue(ProcessKind.Main, out var tail))
            {
                pipes.Add(new HandedPipe(ProcessKind.Main.Name(), false, -1, true, "", KeptPipeName.For(instance.Tag, main, errorStream: false)));
                if (tail.Errors is not null)
                    pipes.Add(new HandedPipe(ProcessKind.Main.Name(), true, -1, true, "", KeptPipeName.For(instance.Tag, main, errorStream: true)));
            }
            var left = instance.Deadline.At is { } at ? at > now ? (long)(at - now).TotalMilliseconds : 0 : -1;
            if (state == "running") left = -1;
            result.Add(Hand(instance, state, started, left, pipes, definitionSource: ""));
        }
        return new HandoverState { BootId = bootId, Instances = result, TakenAt = System.Diagnostics.Stopwatch.GetTimestamp() };
    }

    // One instance as it goes over, in a re-exec's snapshot or in the survivors: what it runs with, its main process and
    // where it stands.
    private HandedInstance Hand(JobInstance instance, string state, ulong mainStartTime, long deadlineMs, IReadOnlyList<HandedPipe> pipes,
        string definitionSource)
    {
        var main = instance.MainPid;
        return new HandedInstance(
            instance.Class.Name, instance.Name, state,
            main, main == 0 ? 0 : instance.MainProcessGroup, mainStartTime,
            instance.MainStarted, instance.StateSince,
            Variables(instance.StartVariables),
            [.. instance.EnvFileValues.Select(v => new HandedVariable(v.Key, v.Value))],
            instance.EnvFilesRead, instance.Tag,
            new HandedRespawns(instance.Respawn.Count, instance.Respawn.WindowStart, instance.Respawn.WindowCount, instance.Respawn.BackoffAttempt),
            deadlineMs, instance.StartedByBoot, pipes, loop.Processes.UnitGroup(instance.Tag) ?? "",
            instance.Goal == JobGoal.Start ? "start" : "stop", Variables(instance.StopEnvironment),
            instance.PendingStartVariables is { } pending ? Variables(pending) : null,
            definitionSource, instance.AdoptedAt);
    }

    private static IReadOnlyList<HandedVariable> Variables(EnvironmentList list) =>
        [.. list.Entries.Select(e => new HandedVariable(e.Key, e.Value, list.IsUntrusted(e.Key)))];

    private static EnvironmentList Variables(IReadOnlyList<HandedVariable> variables)
    {
        var list = new EnvironmentList();
        foreach (var v in variables)
        {
            if (v.Untrusted) list.SetUntrusted(v.Key, v.Value);
            else list.Set(v.Key, v.Value);
        }
        return list;
    }

    /// <summary>
    /// Set before the loop starts in an image a re-exec started: a handed-over child's exit can be reaped before its
    /// instance is adopted (the reaper starts first); such exits wait here, and <see cref="Adopt"/> replays them.
    /// </summary>
    public bool AwaitingAdoption { get; set; }

    private readonly Dictionary<int, ChildExit> _earlyExits = [];

    /// <summary>Handed pids followed by pidfd before the reaper started: their exit comes (early, or later) whatever happens.</summary>
    public HashSet<int> Followed { get; } = [];

    /// <summary>An exit of a pid nobody owns: kept (true) while adoption is still to come.</summary>
    public bool HoldEarlyExit(ChildExit exit)
    {
        if (!AwaitingAdoption || _earlyExits.Count >= Limits.MaxGoalsEntries) return false;
        _earlyExits[exit.Pid] = exit;
        return true;
    }

    /// <summary>
    /// In the new image, after the job files are loaded and before goals are restored: each handed instance taken back
    /// as it was, under the definition it ran under (a job whose file changed takes the new one at its next start, as
    /// after a reload; one whose file went or no longer parses runs on until a reload-configuration applies the
    /// files). Nothing is announced. Returns one line per thing that did not go over as it was.
    /// </summary>
    /// <param name="afterRestart">The survivors a previous supd recorded before it died (<see cref="Survivors"/>), checked
    /// and given the pipes the keeper held: their main processes are not supd's children (followed, status unknown),
    /// they run under the job files as read now, and each is marked adopted.</param>
    public IReadOnlyList<string> Adopt(HandoverState state, Func<int, IOutputSink, string, string?, bool> attach, Action<ChildExit> exited, bool afterRestart = false)
    {
        var problems = new List<string>();
        foreach (var handed in state.Instances)
        {
            var name = handed.Instance.Length == 0 ? handed.Job : $"{handed.Job} ({handed.Instance})";
            var ranUnder = afterRestart ? null : Language.JobDirectoryLoader.Reparse(handed.Job, handed.DefinitionSource);
            if (!loop.Registry.Jobs.TryGetValue(handed.Job, out var jobClass))
            {
                if (afterRestart || ranUnder is null)
                {
                    // Nothing to supervise it by: after a restart, its job file went (or no longer parses) while no supd
                    // ran; after a re-exec, the text it ran under does not parse again (never expected: the old image read it).
                    var why = afterRestart ? "its job file is gone or rejected" : "its job definition could not be read again";
                    if (handed.MainProcessGroup > 1) loop.Processes.SignalGroup(handed.MainProcessGroup, Signals.SIGTERM);
                    foreach (var pipe in handed.Pipes.Where(p => p.Fd >= 0)) Interop.Libc.Close(pipe.Fd);
                    problems.Add(handed.MainProcessGroup > 1
                        ? $"{name}: {why}; its process group {handed.MainProcessGroup} was sent SIGTERM"
                        : $"{name}: {why}; forgotten");
                    continue;
                }
                // Its file went, or no longer parses: as after a reload that rejected it, it keeps the definition it had.
                jobClass = new JobClass(ranUnder);
                loop.Registry.Jobs[handed.Job] = jobClass;
                problems.Add($"{name}: its job file is gone or rejected; it runs on as it was until reload-configuration applies the files");
            }
            var instance = loop.Registry.Select(jobClass, new EnvironmentList(), handed.Instance, create: true)!;
            if (ranUnder is not null && ranUnder.SourceText != jobClass.Definition.SourceText) instance.KeepDefinition(ranUnder);
            instance.Goal = handed.Goal == "stop" ? JobGoal.Stop : JobGoal.Start;
            instance.State = handed.State switch
            {
                "respawning" => JobState.Respawning,
                "killed" => JobState.Killed,
                _ => JobState.Running,
            };
            instance.StopEnvironment = Variables(handed.StopVariables ?? []);
            instance.PendingStartVariables = handed.PendingStartVariables is { } pending ? Variables(pending) : null;
            instance.StateSince = handed.StateSince;
            instance.StartVariables = Variables(handed.StartVariables);
            instance.EnvFileValues = [.. handed.EnvFileValues.Select(v => new KeyValuePair<string, string>(v.Key, v.Value))];
            instance.EnvFilesRead = handed.EnvFilesRead;
            instance.Environment = environments.ForInstance(instance);
            instance.Tag = handed.Tag;
            instance.StartedByBoot = handed.StartedByBoot;
            instance.Respawn.Count = handed.Respawns.Count;
            instance.Respawn.WindowStart = handed.Respawns.WindowStart;
            instance.Respawn.WindowCount = handed.Respawns.WindowCount;
            instance.Respawn.BackoffAttempt = handed.Respawns.BackoffAttempt;
            instance.MainStarted = handed.MainStarted;

            var tail = spawner.OutputFor(instance);
            foreach (var pipe in handed.Pipes)
            {
                var sink = pipe.ErrorStream ? (IOutputSink?)tail?.Errors ?? tail : tail;
                var writer = (sink as OutputTail)?.Inner as JobOutputWriter;
                if (pipe.Fd < 0)
                {
                    problems.Add($"{name}: its output pipe was not kept while no supd ran; what it writes now is lost (it may end with SIGPIPE)");
                    continue;
                }
                // After a crash the line state is the log's own: a file that ends mid-line goes on with the pipe's rest.
                if (afterRestart) writer?.ResumeLine(atLineStart: pipe.ErrorStream || !writer.File.EndsMidLine(), []);
                else writer?.ResumeLine(pipe.AtLineStart, Convert.FromBase64String(pipe.Pending));
                var keptAs = pipe.Name.Length > 0 ? pipe.Name : null;
                if (sink is null || !attach(pipe.Fd, sink, $"{instance.DisplayName} {pipe.Process} process", keptAs))
                {
                    Interop.Libc.Close(pipe.Fd);
                    problems.Add($"{name}: its output pipe (fd {pipe.Fd}) could not be read again");
                }
            }
            if (tail is not null) instance.Outputs[ProcessKind.Main] = tail;

            if (handed.MainPid > 1)
            {
                var pid = handed.MainPid;
                if (afterRestart || handed.AdoptedAt is not null)
                {
                    // Not supd's child: re-parented to init (or the service manager) when an earlier supd died, so its
                    // end is seen through its pidfd and its status goes to its parent. Checked again here: the pid must
                    // still be the recorded process (its start time), or it is some other process now.
                    if (!(loop.Processes.StartTimeOf(pid) == handed.MainStartTime && loop.Processes.AdoptForeign(pid)))
                    {
                        _earlyExits[pid] = new ChildExit(pid, ExitStatus.Unknown);
                        problems.Add($"{name}: main process {pid} ended before it could be adopted; its exit status is unknown");
                    }
                    // Marked when it was adopted; a re-exec keeps the mark.
                    instance.AdoptedAt = afterRestart ? loop.Time.GetUtcNow() : handed.AdoptedAt;
                }
                else
                {
                    // Still supd's child (same pid), so it cannot have been reaped by anyone else and reused: one that
                    // ended during the exec was a zombie with the recorded start time, and its exit (status intact) is
                    // among the early exits, or comes from the reaper.
                    // Followed before the reaper started: its exit comes (or came) through the reaper, status intact.
                    var ended = _earlyExits.ContainsKey(pid) || Followed.Contains(pid);
                    if (!ended && !(loop.Processes.StartTimeOf(pid) == handed.MainStartTime && loop.Processes.Adopt(pid)))
                    {
                        // Never expected (a child of ours cannot vanish unreaped): its end is recorded with its status lost.
                        _earlyExits[pid] = new ChildExit(pid, ExitStatus.Exited(255));
                        problems.Add($"{name}: main process {pid} is gone and its exit status with it");
                    }
                }
                instance.Pids[ProcessKind.Main] = pid;
                instance.MainProcessGroup = handed.MainProcessGroup;
                loop.Registry.Processes[pid] = (instance, ProcessKind.Main);
            }
            if (instance.State == JobState.Running) health.Start(instance, newMainProcess: false);
            if (handed.DeadlineMs >= 0)
            {
                // What was left at the snapshot, less the time the exec and this start-up took.
                var left = TimeSpan.FromMilliseconds(handed.DeadlineMs) - (state.TakenAt > 0 ? System.Diagnostics.Stopwatch.GetElapsedTime(state.TakenAt) : TimeSpan.Zero);
                instance.Deadline.Arm(loop.Time, left > TimeSpan.Zero ? left : TimeSpan.Zero, loop.DeadlineFor(instance));
            }
        }
        AwaitingAdoption = false;
        Followed.Clear();
        var early = _earlyExits.Values.ToList();
        _earlyExits.Clear();
        foreach (var exit in early) exited(exit);
        loop.Goals.Dirty = true;
        return problems;
    }
}
