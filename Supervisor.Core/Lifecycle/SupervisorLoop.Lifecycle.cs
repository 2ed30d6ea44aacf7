using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// Goals, states and process exits: Upstart's job.c and job_process.c, driven by JobStateMachine.Next.
public sealed partial class SupervisorLoop
{
    private void ChangeGoal(JobInstance instance, JobGoal goal)
    {
        if (instance.Goal == goal) return;
        var from = instance.Goal;
        instance.Goal = goal;
        // A goal asked for from outside ends a respawn under way: its delay no longer applies.
        instance.Respawn.DelayDue = null;
        LogGoalChanged(instance.DisplayName, from.Name(), goal.Name());
        // Acts at once only from a rest state (and ends an expect wait or a respawn delay); elsewhere the current step
        // picks the goal up when it ends.
        Act(instance, goal == JobGoal.Start ? InstanceInput.GoalStart : InstanceInput.GoalStop);
    }

    /// <summary>How a main process ended, for the cells that act on it.</summary>
    private readonly record struct MainExit(int Pid, ExitStatus Status, int Group);

    /// <summary>Runs the action <see cref="InstanceMachine"/>'s table gives for the instance's state and <paramref name="input"/>.</summary>
    private void Act(JobInstance instance, InstanceInput input, MainExit exit = default)
    {
        switch (InstanceMachine.Decide(instance.State, input))
        {
            case InstanceAction.Nop:
                return;
            case InstanceAction.Advance:
                Advance(instance);
                return;
            case InstanceAction.KilledMainExit:
                KillLeftInGroup(exit);
                EmitExited(instance, exit.Pid, exit.Status, respawn: false);
                Advance(instance);
                return;
            case InstanceAction.SpawnedMainExit:
                if (instance.Definition.Expect is ExpectMode.Fork or ExpectMode.Daemon && exit.Status.IsSuccess)
                {
                    // The fork we were told to expect: its child lives on in the group; follow it (PollExpect).
                    if (instance.Expect is { } wait) wait.InitialExitAt = _time.GetTimestamp();
                    return;
                }
                // Only an expect wait rests in spawned: the process ended before doing what it promised.
                KillLeftInGroup(exit);
                EmitExited(instance, exit.Pid, exit.Status, respawn: false);
                FailAndStop(instance, ProcessKind.Main, exit.Status);
                Advance(instance);
                return;
            case InstanceAction.HoldMainExit:
                KillLeftInGroup(exit);
                instance.PendingMainExit = (exit.Pid, exit.Status);
                return;
            case InstanceAction.RunningMainExit:
                KillLeftInGroup(exit);
                OnMainExitWhileRunning(instance, exit.Pid, exit.Status);
                return;
            case InstanceAction.AnnounceMainExit:
                // Starting/stopping and the like: the states notice the main process is gone as they move on.
                KillLeftInGroup(exit);
                EmitExited(instance, exit.Pid, exit.Status, respawn: false);
                return;
            case InstanceAction.KillHard:
                if (!instance.MainAlive) return;
                LogKillTimeout(instance.DisplayName, instance.MainPid, instance.Definition.KillTimeout.TotalSeconds);
                _processes.SignalGroup(instance.MainProcessGroup, Signals.SIGKILL);
                _processes.Signal(instance.MainPid, Signals.SIGKILL);
                _processes.SignalUnit(instance.Tag, Signals.SIGKILL);
                return;
            case InstanceAction.PollExpect:
                PollExpect(instance);
                return;
            case InstanceAction.EndStartGrace:
                // Stopped or restarted meanwhile, the state change disarmed it: whoever changed it answers the waiters.
                FinishWaiters(instance);
                return;
            case InstanceAction.CutRespawnShort:
                LogRespawnCutShort(instance.DisplayName);
                Advance(instance);
                return;
            default:
                throw new InvalidOperationException($"Unknown action for {instance.State.Name()} x {input}");
        }
    }

    // Whatever else is left in the main process's group (children that ignored the kill signal, or that a crashed
    // main left behind) goes with it, so a stop or a respawn never leaves strays running.
    private void KillLeftInGroup(MainExit exit) => _processes.SignalGroup(exit.Group, Signals.SIGKILL);

    private void OnDeadlineReached(JobInstance instance, long generation)
    {
        if (instance.Deadline.Reached(generation)) Act(instance, InstanceInput.DeadlineReached);
    }

    /// <summary>The current step is over: on to the next state (and on while states complete at once).</summary>
    private void Advance(JobInstance instance) => ChangeState(instance, Next(instance));

    private static JobState Next(JobInstance instance) =>
        JobStateMachine.Next(instance.State, instance.Goal, instance.MainAlive, instance.Respawn.DelayDue is not null);

    /// <summary>Enters <paramref name="next"/> and keeps going while each state completes at once.</summary>
    private void ChangeState(JobInstance instance, JobState next)
    {
        while (true)
        {
            var from = instance.State;
            instance.State = next;
            instance.StateSince = _time.GetUtcNow();
            // Whatever the old state waited for (kill timeout, expect poll, respawn delay, start grace) is over.
            instance.Deadline.Disarm();
            LogStateChanged(instance.DisplayName, from.Name(), next.Name());
            Publish((sequence, time) => new StateChangeNotification(sequence, time, instance.Class.Name, instance.Name, instance.Goal, from, next));
            if (!Enter(instance, from)) return;
            next = Next(instance);
        }
    }

    /// <summary>Runs the entry action of the instance's new state; false when it must now wait (or rest).</summary>
    private bool Enter(JobInstance instance, JobState from)
    {
        if (instance.State == JobState.Starting && instance.ChangedOnDisk) instance.Redefine(); // reload-configuration: a new start takes the new file
        var definition = instance.Definition;
        switch (instance.State)
        {
            case JobState.Starting:
                instance.StartVariables = instance.PendingStartVariables ?? instance.StartVariables;
                instance.PendingStartVariables = null;
                instance.Environment = ComposeEnvironment(instance);
                instance.StopEnvironment = new EnvironmentList();
                instance.PendingMainExit = null;
                // The previous start's processes (a respawn's strays) end with it; each start is contained on its own.
                if (instance.Tag.Length > 0) _processes.EndUnit(instance.Tag, definition.KillTimeout);
                // Unguessable: a job user who could predict it could plant processes carrying it and spoil expect fork.
                instance.Tag = Interop.Libc.RandomHex128();
                instance.ExpectProblem = null;
                instance.StopCause = null;
                instance.Failure = null;
                BlockOn(instance, EmitJobEvent(EventIds.Starting, instance, withResult: false));
                return false;

            case JobState.Security:
                return true; // apparmor load is not supported: the first spawn of such a job fails naming the stanza

            case JobState.PreStart:
                return !RunHook(instance, ProcessKinds.PreStart);

            case JobState.Spawned:
                if (definition.Main is null) return true;
                if (!Spawn(instance, ProcessKind.Main, definition.Main, out var error, transient: out var transient))
                {
                    if (transient && RetryTransientSpawn(instance, error!)) return false;
                    FailAndStop(instance, ProcessKind.Main, null, error);
                    return true;
                }
                if (definition.Expect == ExpectMode.None) return true;
                StartExpect(instance);
                return false;

            case JobState.PostStart:
                return !RunHook(instance, ProcessKinds.PostStart);

            case JobState.Running:
                if (from == JobState.PostStart)
                {
                    if (instance.MainAlive) LogJobStarted(instance.DisplayName, instance.MainPid);
                    else LogJobStartedWithoutMain(instance.DisplayName);
                    EmitJobEvent(EventIds.Started, instance, withResult: false);
                    if (!definition.Task)
                    {
                        ReleaseBlocking(instance);
                        if (!HoldForStartGrace(instance)) FinishWaiters(instance);
                    }
                }
                else if (from == JobState.PreStop)
                {
                    // The stop was cancelled by a start while pre-stop ran.
                    instance.StopEnvironment = new EnvironmentList();
                    FinishWaiters(instance);
                }
                if (instance.PendingMainExit is { } pending)
                {
                    instance.PendingMainExit = null;
                    OnMainExitWhileRunning(instance, pending.Pid, pending.Status);
                }
                return false;

            case JobState.PreStop:
                return !RunHook(instance, ProcessKinds.PreStop);

            case JobState.Stopping:
                // A main exit held while post-start or pre-stop ran is not acted on now: the job is stopping anyway.
                if (instance.PendingMainExit is { } held)
                {
                    instance.PendingMainExit = null;
                    EmitExited(instance, held.Pid, held.Status, respawn: false);
                }
                BlockOn(instance, EmitJobEvent(EventIds.Stopping, instance, withResult: true));
                return false;

            case JobState.Killed:
                if (instance.MainAlive)
                {
                    KillMain(instance);
                    return false;
                }
                return true;

            case JobState.PostStop:
                return !RunHook(instance, ProcessKinds.PostStop);

            case JobState.Respawning:
                ArmRespawnDelay(instance);
                return false;

            case JobState.Waiting:
                if (instance.Failed) LogJobStoppedFailed(instance.DisplayName, instance.Failure?.Reason ?? "failed");
                else LogJobStopped(instance.DisplayName);
                _processes.EndUnit(instance.Tag, definition.KillTimeout);
                AbandonCheck(instance, "stopped while its check ran");
                EmitJobEvent(EventIds.Stopped, instance, withResult: true);
                ReleaseBlocking(instance);
                instance.Class.Instances.Remove(instance.Name);
                instance.Class.LastExit = instance.LastExit;
                instance.Class.LastFailure = instance.Failed ? instance.Failure?.Reason : null;
                instance.Class.StoppedSince = instance.StateSince;
                instance.Class.LastStop = instance.Failed ? $"failed: {instance.Failure?.Reason}"
                    : instance.StopCause ?? (instance.LastExit is { } exit ? $"finished: {exit}" : "stopped");
                _logs?.InstanceFinished(instance.Class.Name, instance.Name, instance.Definition.LogRotate);
                CheckCritical(instance);
                FinishWaiters(instance);
                return false;

            default:
                throw new InvalidOperationException($"Cannot enter {instance.State}");
        }
    }

    /// <summary>
    /// Spawns a hook if the job has one; true when the state must wait for it to exit. Whether a failure to spawn it
    /// fails the job is the kind's rule (<see cref="ProcessKindInfo.SpawnFailureFails"/>).
    /// </summary>
    private bool RunHook(JobInstance instance, ProcessKindInfo hook)
    {
        if (hook.Command(instance.Definition) is not { } command) return false;
        if (Spawn(instance, hook.Kind, command, out var error)) return true;
        if (hook.SpawnFailureFails) FailAndStop(instance, hook.Kind, null, error);
        return false;
    }

    // Changes the goal without inducing a transition: used inside a state's own step, which moves on by itself.
    private void ChangeGoalQuietly(JobInstance instance, JobGoal goal)
    {
        if (instance.Goal == goal) return;
        LogGoalChanged(instance.DisplayName, instance.Goal.Name(), goal.Name());
        instance.Goal = goal;
    }

    private void BlockOn(JobInstance instance, Event e)
    {
        instance.Blocker = e;
        e.OnFinished.Add(finished =>
        {
            if (!ReferenceEquals(instance.Blocker, finished)) return;
            instance.Blocker = null;
            Act(instance, InstanceInput.Unblocked);
        });
    }

    private void KillMain(JobInstance instance)
    {
        var pid = instance.MainPid;
        var signal = instance.Definition.KillSignal;
        LogKilling(instance.DisplayName, instance.MainProcessGroup, Signals.Name(signal));
        if (!_processes.SignalGroup(instance.MainProcessGroup, signal)) _processes.Signal(pid, signal);
        _processes.SignalUnit(instance.Tag, signal); // and every other process of the start (KillMode=control-group)

        instance.Deadline.Arm(_time, instance.Definition.KillTimeout, DeadlineFor(instance));
    }

    /// <summary>What the instance's deadline posts when it is reached: its own generation, for the loop to check.</summary>
    private Action<long> DeadlineFor(JobInstance instance) => generation => Post(new DeadlineReachedInput(instance, generation));

    /// <param name="environment">The process's environment; null composes it from the instance (a check brings its own).</param>
    /// <param name="output">Where its output goes; null: the job's log (console log) or what console says.</param>
    private bool Spawn(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error,
        EnvironmentList? environment = null, IOutputSink? output = null) =>
        Spawn(instance, kind, command, out error, out _, environment, output);

    /// <param name="transient">The spawn failed for want of fds, processes or memory (worth trying again).</param>
    private bool Spawn(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error, out bool transient,
        EnvironmentList? environment = null, IOutputSink? output = null)
    {
        transient = false;
        try
        {
            return SpawnUnguarded(instance, kind, command, out error, out transient, environment, output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException
            or OverflowException or OutOfMemoryException or System.ComponentModel.Win32Exception or InvalidDataException)
        {
            // One job's own input (its files, env-files, user, command) must fail that job, never the loop.
            error = $"unable to start: {e.Message}";
            LogSpawnFailed(instance.DisplayName, kind.Name(), error);
            RecordExit(instance, kind, 0, null, error);
            return false;
        }
    }

    /// <summary>
    /// A main process that could not be spawned for a transient reason (EMFILE, EAGAIN, …) is a crash like any other
    /// for a respawning job: it goes down and comes back under its respawn limit, after its respawn delay or
    /// <see cref="TransientSpawnRetry"/>, so a moment without fds does not leave a service failed for good.
    /// </summary>
    private bool RetryTransientSpawn(JobInstance instance, string error)
    {
        if (!instance.Definition.Respawn || instance.Goal != JobGoal.Start || RespawningTooFast(instance)) return false;
        instance.Respawn.Count++;
        instance.Respawn.DelayDue = NextRespawnDelay(instance) ?? TransientSpawnRetry;
        LogSpawnRetry(instance.DisplayName, error, instance.Respawn.DelayDue.Value.TotalSeconds);
        ChangeState(instance, JobState.Stopping);
        return true;
    }

    /// <summary>How long a respawning job without a respawn delay waits before a transiently failed spawn is tried again.</summary>
    private static readonly TimeSpan TransientSpawnRetry = TimeSpan.FromSeconds(1);

    private bool SpawnUnguarded(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error, out bool transient,
        EnvironmentList? environment, IOutputSink? output)
    {
        transient = false;
        var definition = instance.Definition;
        error = Unsupported(definition);
        if (error is null && environment is null) RefreshEnvFiles(instance, kind, out error);
        if (error is not null)
        {
            LogSpawnFailed(instance.DisplayName, kind.Name(), error);
            RecordExit(instance, kind, 0, null, error);
            return false;
        }
        environment ??= ProcessEnvironment(instance, kind);
        var description = $"{instance.DisplayName} {kind.Name()} process";
        if (!CommandLine.TryResolve(command, environment.Get("PATH"), out var file, out var argv, out error, definition.Chroot))
        {
            LogSpawnFailed(instance.DisplayName, kind.Name(), error!);
            RecordExit(instance, kind, 0, null, error);
            return false;
        }
        var request = new SpawnRequest(
            description, file, argv, environment.ToStrings(),
            definition.Chdir ?? _options.DefaultWorkingDirectory,
            output ?? OutputFor(instance),
            ProcessSettings.From(definition), new Processes.Containment.ContainmentUnit(instance.Tag, instance.DisplayName));
        if (kind == ProcessKind.Main) instance.MainSpawnedAfter = _processes.ClockTicksSinceBoot();
        var result = _processes.Spawn(request);
        if (!result.Succeeded)
        {
            error = result.Error;
            transient = result.Transient;
            LogSpawnFailed(instance.DisplayName, kind.Name(), error!);
            RecordExit(instance, kind, 0, null, error);
            return false;
        }
        RecordNotApplied(instance, result.NotApplied);
        if (request.Output is Logs.OutputTail tail) instance.Outputs[kind] = tail;
        instance.Pids[kind] = result.Pid;
        _processesByPid[result.Pid] = (instance, kind);
        if (kind == ProcessKind.Main)
        {
            instance.MainStarted = _time.GetUtcNow();
            instance.MainProcessGroup = result.Pid;
        }
        LogSpawned(instance.DisplayName, kind.Name(), result.Pid);
        return true;
    }

    private void OnChildExited(ChildExit exit)
    {
        if (!_processesByPid.Remove(exit.Pid, out var owner))
        {
            LogUnknownChild(exit.Pid, exit.Status.ToString());
            return;
        }
        var (instance, kind) = owner;
        instance.Pids.Remove(kind);
        RecordExit(instance, kind, exit.Pid, exit.Status, null);
        if (kind == ProcessKind.Main) LogMainExited(instance.DisplayName, kind.Name(), exit.Pid, exit.Status.ToString());
        else LogProcessExited(instance.DisplayName, kind.Name(), exit.Pid, exit.Status.ToString());

        // The exit rules are the kind's (ProcessKinds, spec §7); what the end means for the instance is the machine's.
        switch (kind.Info().Exit)
        {
            case ProcessExitRule.MainRules:
                var group = instance.MainProcessGroup;
                instance.MainProcessGroup = 0;
                Act(instance, InstanceInput.MainExited, new MainExit(exit.Pid, exit.Status, group));
                break;
            case ProcessExitRule.AnswersRequest:
                OnCheckExited(instance, exit.Pid, exit.Status);
                break;
            case ProcessExitRule.NonZeroFails:
                if (!exit.Status.IsSuccess) FailAndStop(instance, kind, exit.Status);
                Act(instance, InstanceMachine.HookExited(kind)!.Value);
                break;
            case ProcessExitRule.Ignored:
                Act(instance, InstanceMachine.HookExited(kind)!.Value);
                break;
        }
    }

    private void OnMainExitWhileRunning(JobInstance instance, int pid, ExitStatus status)
    {
        var definition = instance.Definition;
        if (instance.Goal == JobGoal.Stop)
        {
            EmitExited(instance, pid, status, respawn: false);
            Advance(instance);
            return;
        }
        if (FailedWithinStartGrace(instance, status))
        {
            // Failed and goal stop: no respawn (SupervisorLoop.StartGrace.cs).
        }
        else if (IsFailure(definition, status))
        {
            if (definition.Respawn)
            {
                if (RespawningTooFast(instance))
                {
                    LogRespawningTooFast(instance.DisplayName, definition.RespawnLimit.Count, definition.RespawnLimit.IntervalSeconds);
                    FailAndStop(instance, null, null);
                }
                else
                {
                    instance.Respawn.Count++;
                    instance.Respawn.DelayDue = NextRespawnDelay(instance);
                    if (instance.Respawn.DelayDue is { } delay) LogRespawningAfter(instance.DisplayName, delay.TotalSeconds);
                    else LogRespawning(instance.DisplayName);
                }
            }
            else
            {
                FailAndStop(instance, ProcessKind.Main, status);
            }
        }
        else
        {
            ChangeGoalQuietly(instance, JobGoal.Stop);
        }
        // Announced before anything else happens to the job (the respawn's stopping, or the stop).
        EmitExited(instance, pid, status, respawn: instance.Goal == JobGoal.Start);
        // Goal start here is the respawn path (running → stopping → killed → post-stop → [respawning →] starting).
        Advance(instance);
    }

    /// <summary>Spec §7: a non-zero status fails, and so does any exit of a respawning service, unless listed in normal exit.</summary>
    internal static bool IsFailure(JobDefinition definition, ExitStatus status)
    {
        foreach (var normal in definition.NormalExit)
        {
            if (normal.IsSignal ? status.IsSignal && status.Signal == normal.Value : !status.IsSignal && status.Code == normal.Value)
                return false;
        }
        if (definition.Respawn && !definition.Task) return true;
        return !status.IsSuccess;
    }

    /// <summary>A failure that ends the cycle: recorded, and the goal becomes stop without a transition of its own.</summary>
    private void FailAndStop(JobInstance instance, ProcessKind? process, ExitStatus? status, string? spawnError = null, string? reason = null)
    {
        Fail(instance, process, status, spawnError, reason);
        ChangeGoalQuietly(instance, JobGoal.Stop);
    }

    /// <summary>Records the cycle's first failure (process null means "respawn": too fast) and fails the events it holds.</summary>
    private void Fail(JobInstance instance, ProcessKind? process, ExitStatus? status, string? spawnError, string? reason = null)
    {
        if (instance.Failed) return;
        var definition = instance.Definition;
        instance.Failure = new InstanceFailure(
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
        foreach (var e in instance.Blocking)
        {
            e.Failed = true;
            e.Failures.Add(Explain(instance));
        }
    }

    private void RecordExit(JobInstance instance, ProcessKind kind, int pid, ExitStatus? status, string? spawnError)
    {
        // A check is not part of the job's life: its outcome goes to the restart or reload it gates.
        if (!kind.Info().InLifecycle) return;
        instance.LastExit = new ProcessExitRecord(kind, pid, status, spawnError, _time.GetUtcNow());
    }

    private static void ReleaseBlocking(JobInstance instance)
    {
        foreach (var e in instance.Blocking) e.Unblock();
        instance.Blocking.Clear();
    }

    /// <summary>Completes the requests waiting on this instance, now at a rest state.</summary>
    private void FinishWaiters(JobInstance instance)
    {
        if (instance.Waiters.Count == 0) return;
        var waiters = instance.Waiters.ToArray();
        instance.Waiters.Clear();
        var snapshot = instance.State == JobState.Waiting ? _status.Class(instance.Class) : _status.Instance(instance);
        foreach (var waiter in waiters)
        {
            if (instance.Failed && instance.State == JobState.Waiting)
            {
                var stopping = waiter.Goal == JobGoal.Stop;
                if (!stopping || instance.Failure?.Process is "pre-stop" or "post-stop")
                {
                    RejectExplained(waiter.Reply,
                        stopping ? SupervisorError.JobFailedWhileStopping : SupervisorError.JobFailedToStart,
                        stopping ? "Job failed while stopping" : waiter.Restart ? "Job failed to restart" : "Job failed to start",
                        [Explain(instance)]);
                    continue;
                }
            }
            waiter.Reply.TrySetResult(snapshot);
        }
    }

    /// <summary>The environment of one job process (spec §4): defaults, env stanzas, env-files, start variables, UPSTART_*.</summary>
    /// <param name="envFileValues">Env-file values to use instead of those the instance read at its start (a check reads them afresh).</param>
    private EnvironmentList ProcessEnvironment(JobInstance instance, ProcessKind kind, IReadOnlyList<KeyValuePair<string, string>>? envFileValues = null)
    {
        var environment = ComposeEnvironment(instance, envFileValues);
        environment.Set("UPSTART_JOB", instance.Class.Name);
        environment.Set("UPSTART_INSTANCE", instance.Name);
        // The tag finds the main process's daemon after it forks (expect fork/daemon); only main carries it.
        if (kind == ProcessKind.Main) environment.Set("SUPD_TAG", instance.Tag);
        if (kind.Info().GetsStopEnvironment) environment.AddRange(instance.StopEnvironment);
        return environment;
    }

    /// <summary>Spec §4 with env-files: <c>env</c> stanzas, then env-file values, then the start variables.</summary>
    private EnvironmentList ComposeEnvironment(JobInstance instance, IReadOnlyList<KeyValuePair<string, string>>? envFileValues = null)
    {
        var environment = ClassEnvironment(instance.Definition);
        var fromFiles = envFileValues ?? instance.EnvFileValues;
        foreach (var (key, value) in fromFiles) environment.Set(key, value);
        if (!instance.StartVariables.HasUntrusted)
        {
            environment.AddRange(instance.StartVariables);
            return environment;
        }
        // A caller without admin never overrides what the job's own env-files set (access-control.md, Variables).
        HashSet<string>? setByFiles = null;
        foreach (var (key, value) in instance.StartVariables.Entries)
        {
            if (!instance.StartVariables.IsUntrusted(key))
            {
                environment.Set(key, value);
                continue;
            }
            setByFiles ??= fromFiles.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
            if (!setByFiles.Contains(key)) environment.SetUntrusted(key, value);
        }
        return environment;
    }

    /// <summary>Steps 1 and 2 of spec §4: PATH and TERM, then the job's env stanzas in file order.</summary>
    private EnvironmentList ClassEnvironment(JobDefinition definition)
    {
        var environment = new EnvironmentList();
        environment.Set("PATH", _options.DefaultPath);
        environment.Set("TERM", _options.DefaultTerm);
        foreach (var (key, value) in _options.JobEnvironment) environment.Set(key, value);
        foreach (var entry in definition.Env)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                environment.Set(entry[..eq], entry[(eq + 1)..]);
            }
            else if (_options.DaemonEnvironment(entry) is { } inherited)
            {
                environment.Set(entry, inherited);
            }
        }
        return environment;
    }
}
