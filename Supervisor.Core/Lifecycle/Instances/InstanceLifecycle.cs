using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Overview: an instance's life, Upstart's job.c and job_process.c. Goals come from requests and events; what an input
/// means in each state is <see cref="InstanceMachine"/>'s table, and the next state is
/// <see cref="JobStateMachine.Next"/>'s; this class runs the actions and the states' entry steps (spawn a hook, emit a
/// job event, kill, wait out a respawn delay). Failures are recorded here, once per cycle (the first wins).
/// On the loop thread only.
/// </summary>
internal sealed class InstanceLifecycle(
    LoopContext loop, JobEvents events, SpawnPath spawner, JobEnvironment environments, CheckGate checks, HealthMonitor health,
    Replies replies)
{
    private readonly RespawnPolicy _respawns = new(loop.Time, loop.Options);
    private readonly ExpectWatch _expect = new(loop);
    private readonly TaskCompletionSource<CriticalJobFailure> _criticalFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long a respawning job without a respawn delay waits before a transiently failed spawn is tried again.</summary>
    private static readonly TimeSpan TransientSpawnRetry = TimeSpan.FromSeconds(1);

    /// <summary>The first <c>critical</c> job to fail for good (see <see cref="SupervisorLoop.CriticalFailure"/>).</summary>
    public Task<CriticalJobFailure> CriticalFailure => _criticalFailure.Task;

    public void ChangeGoal(JobInstance instance, JobGoal goal)
    {
        if (instance.Goal == goal) return;
        var from = instance.Goal;
        instance.Goal = goal;
        // A goal asked for from outside ends a respawn under way: its delay no longer applies.
        instance.Respawn.DelayDue = null;
        loop.Log.LogGoalChanged(instance.DisplayName, from.Name(), goal.Name());
        // Acts at once only from a rest state (and ends an expect wait or a respawn delay); elsewhere the current step
        // picks the goal up when it ends.
        Act(instance, goal == JobGoal.Start ? InstanceInput.GoalStart : InstanceInput.GoalStop);
    }

    // Changes the goal without inducing a transition: used inside a state's own step, which moves on by itself.
    private void ChangeGoalQuietly(JobInstance instance, JobGoal goal)
    {
        if (instance.Goal == goal) return;
        loop.Log.LogGoalChanged(instance.DisplayName, instance.Goal.Name(), goal.Name());
        instance.Goal = goal;
    }

    /// <summary>How a main process ended, for the cells that act on it.</summary>
    private readonly record struct MainExit(int Pid, ExitStatus Status, int Group);

    /// <summary>Runs the action <see cref="InstanceMachine"/>'s table gives for the instance's state and <paramref name="input"/>.</summary>
    public void Act(JobInstance instance, InstanceInput input) => Act(instance, input, default);

    private void Act(JobInstance instance, InstanceInput input, MainExit exit)
    {
        // The spawn of main through the exec helper is spawned's step until its report is in: a goal change waits for
        // it, as in every state whose step runs (OnSpawnReported goes on with the goal as it is then).
        if (instance.State == JobState.Spawned && instance.ReportsPending.Contains(ProcessKind.Main)) return;
        switch (InstanceMachine.Decide(instance.State, input))
        {
            case InstanceAction.Nop:
                return;
            case InstanceAction.Advance:
                Advance(instance);
                return;
            case InstanceAction.KilledMainExit:
                KillLeftInGroup(exit);
                events.EmitExited(instance, exit.Pid, exit.Status, respawn: false);
                Advance(instance);
                return;
            case InstanceAction.SpawnedMainExit:
                if (instance.Definition.Expect is ExpectMode.Fork or ExpectMode.Daemon && exit.Status.IsSuccess)
                {
                    // The fork we were told to expect: its child lives on in the group; follow it (ExpectWatch.Poll).
                    if (instance.Expect is { } wait) wait.InitialExitAt = loop.Time.GetTimestamp();
                    return;
                }
                // Only an expect wait rests in spawned: the process ended before doing what it promised.
                KillLeftInGroup(exit);
                events.EmitExited(instance, exit.Pid, exit.Status, respawn: false);
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
                events.EmitExited(instance, exit.Pid, exit.Status, respawn: false);
                return;
            case InstanceAction.KillHard:
                if (!instance.MainAlive) return;
                loop.Log.LogKillTimeout(instance.DisplayName, instance.MainPid, instance.Definition.KillTimeout.TotalSeconds);
                loop.Processes.SignalGroup(instance.MainProcessGroup, Signals.SIGKILL);
                loop.Processes.Signal(instance.MainPid, Signals.SIGKILL);
                loop.Processes.SignalUnit(instance.Tag, Signals.SIGKILL);
                return;
            case InstanceAction.PollExpect:
                if (_expect.Poll(instance) is not { } verdict) return;
                if (verdict.Failed) FailAndStop(instance, ProcessKind.Main, verdict.Status, null, verdict.Message);
                Advance(instance);
                return;
            case InstanceAction.EndStartGrace:
                // Stopped or restarted meanwhile, the state change disarmed it: whoever changed it answers the waiters.
                replies.FinishWaiters(instance);
                return;
            case InstanceAction.CutRespawnShort:
                loop.Log.LogRespawnCutShort(instance.DisplayName);
                Advance(instance);
                return;
            default:
                throw new InvalidOperationException($"Unknown action for {instance.State.Name()} x {input}");
        }
    }

    // Whatever else is left in the main process's group (children that ignored the kill signal, or that a crashed
    // main left behind) goes with it, so a stop or a respawn never leaves strays running.
    private void KillLeftInGroup(MainExit exit) => loop.Processes.SignalGroup(exit.Group, Signals.SIGKILL);

    public void OnDeadlineReached(JobInstance instance, long generation)
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
            instance.StateSince = loop.Time.GetUtcNow();
            // Whatever the old state waited for (kill timeout, expect poll, respawn delay, start grace) is over.
            instance.Deadline.Disarm();
            if (from == JobState.Running && next != JobState.Running) health.Stop(instance);
            loop.Log.LogStateChanged(instance.DisplayName, from.Name(), next.Name());
            loop.Publish((sequence, time) => new StateChangeNotification(sequence, time, instance.Class.Name, instance.Name, instance.Goal, from, next));
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
                instance.Environment = environments.ForInstance(instance);
                instance.StopEnvironment = new EnvironmentList();
                instance.PendingMainExit = null;
                // The previous start's processes (a respawn's strays) end with it; each start is contained on its own.
                if (instance.Tag.Length > 0) loop.Processes.EndUnit(instance.Tag, definition.KillTimeout);
                // Unguessable: a job user who could predict it could plant processes carrying it and spoil expect fork.
                instance.Tag = Interop.Libc.RandomHex128();
                instance.ExpectProblem = null;
                instance.StopCause = null;
                instance.Failure = null;
                BlockOn(instance, events.Emit(EventIds.Starting, instance, withResult: false));
                return false;

            case JobState.Security:
                return true; // apparmor load is not supported: the first spawn of such a job fails naming the stanza

            case JobState.PreStart:
                return !RunHook(instance, ProcessKinds.PreStart);

            case JobState.Spawned:
                if (definition.Main is null) return true;
                if (!spawner.Spawn(instance, ProcessKind.Main, definition.Main, out var error, transient: out var transient))
                {
                    if (transient && RetryTransientSpawn(instance, error!)) return false;
                    FailAndStop(instance, ProcessKind.Main, null, error);
                    return true;
                }
                return !instance.ReportsPending.Contains(ProcessKind.Main) && MainRuns(instance);

            case JobState.PostStart:
                return !RunHook(instance, ProcessKinds.PostStart);

            case JobState.Running:
                health.Start(instance, newMainProcess: from == JobState.PostStart);
                if (from == JobState.PostStart)
                {
                    if (instance.MainAlive) loop.Log.LogJobStarted(instance.DisplayName, instance.MainPid);
                    else loop.Log.LogJobStartedWithoutMain(instance.DisplayName);
                    events.Emit(EventIds.Started, instance, withResult: false);
                    if (!definition.Task)
                    {
                        ReleaseBlocking(instance);
                        if (!HoldForStartGrace(instance)) replies.FinishWaiters(instance);
                    }
                }
                else if (from == JobState.PreStop)
                {
                    // The stop was cancelled by a start while pre-stop ran.
                    instance.StopEnvironment = new EnvironmentList();
                    replies.FinishWaiters(instance);
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
                    events.EmitExited(instance, held.Pid, held.Status, respawn: false);
                }
                BlockOn(instance, events.Emit(EventIds.Stopping, instance, withResult: true));
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
                // The deadline is the end of the delay the crash decided on.
                var delay = instance.Respawn.DelayDue ?? TimeSpan.Zero;
                instance.Respawn.DelayDue = null;
                instance.Deadline.Arm(loop.Time, delay, loop.DeadlineFor(instance));
                return false;

            case JobState.Waiting:
                EnterWaiting(instance);
                return false;

            default:
                throw new InvalidOperationException($"Cannot enter {instance.State}");
        }
    }

    /// <summary>The main process runs the job's program: true to go on, false while an expect wait follows it.</summary>
    private bool MainRuns(JobInstance instance)
    {
        if (instance.Definition.Expect == ExpectMode.None) return true;
        _expect.Start(instance);
        return false;
    }

    /// <summary>
    /// An exec helper reported (<see cref="SpawnPath.Reported"/>): the step that spawned the process goes on as it would
    /// have right after a spawn that needs no helper. A failed spawn fails as one would have then; a hook, check or
    /// health check that started needs nothing now (its exit comes as usual).
    /// </summary>
    public void OnSpawnReported(SpawnReport report)
    {
        if (spawner.Reported(report) is not var (instance, kind)) return;
        var info = kind.Info();
        switch (info.Exit)
        {
            case ProcessExitRule.MainRules:
                if (instance.State != JobState.Spawned) return;
                if (!report.Succeeded) FailAndStop(instance, ProcessKind.Main, null, report.Error);
                // A stop asked for meanwhile goes ahead rather than into an expect wait (spawned x GoalStop).
                if (!report.Succeeded || instance.Goal == JobGoal.Stop || MainRuns(instance)) Advance(instance);
                break;
            case ProcessExitRule.AnswersRequest:
                if (!report.Succeeded) checks.OnSpawnFailed(instance, report.Pid, report.Error!);
                break;
            case ProcessExitRule.CountsTowardsHealth:
                if (!report.Succeeded) health.OnSpawnFailed(instance, report.Pid, report.Error!);
                break;
            default:
                if (report.Succeeded) break;
                // The hook never ran: its step is over, as when it cannot be spawned at all (RunHook).
                if (info.SpawnFailureFails) FailAndStop(instance, kind, null, report.Error);
                Act(instance, InstanceMachine.HookExited(kind)!.Value);
                break;
        }
    }

    // The rest state: the instance is gone from its class, which keeps how it ended for status.
    private void EnterWaiting(JobInstance instance)
    {
        if (instance.Failed) loop.Log.LogJobStoppedFailed(instance.DisplayName, instance.Failure?.Reason ?? "failed");
        else loop.Log.LogJobStopped(instance.DisplayName);
        loop.Processes.EndUnit(instance.Tag, instance.Definition.KillTimeout);
        checks.Abandon(instance, "stopped while its check ran");
        events.Emit(EventIds.Stopped, instance, withResult: true);
        ReleaseBlocking(instance);
        var jobClass = instance.Class;
        jobClass.Instances.Remove(instance.Name);
        instance.LeaveClass();
        jobClass.LastExit = instance.LastExit;
        jobClass.LastFailure = instance.Failed ? instance.Failure?.Reason : null;
        jobClass.StoppedSince = instance.StateSince;
        jobClass.LastStop = instance.Failed ? $"failed: {instance.Failure?.Reason}"
            : instance.StopCause ?? (instance.LastExit is { } exit ? $"finished: {exit}" : "stopped");
        loop.Logs?.InstanceFinished(jobClass.Name, instance.Name, instance.Definition.LogRotate);
        CheckCritical(instance);
        replies.FinishWaiters(instance);
    }

    /// <summary>
    /// Spawns a hook if the job has one; true when the state must wait for it to exit. Whether a failure to spawn it
    /// fails the job is the kind's rule (<see cref="ProcessKindInfo.SpawnFailureFails"/>).
    /// </summary>
    private bool RunHook(JobInstance instance, ProcessKindInfo hook)
    {
        if (hook.Command(instance.Definition) is not { } command) return false;
        if (spawner.Spawn(instance, hook.Kind, command, out var error)) return true;
        if (hook.SpawnFailureFails) FailAndStop(instance, hook.Kind, null, error);
        return false;
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

    private static void ReleaseBlocking(JobInstance instance)
    {
        foreach (var e in instance.Blocking) e.Unblock();
        instance.Blocking.Clear();
    }

    private void KillMain(JobInstance instance)
    {
        var signal = instance.Definition.KillSignal;
        loop.Log.LogKilling(instance.DisplayName, instance.MainProcessGroup, Signals.Name(signal));
        if (!loop.Processes.SignalGroup(instance.MainProcessGroup, signal)) loop.Processes.Signal(instance.MainPid, signal);
        loop.Processes.SignalUnit(instance.Tag, signal); // and every other process of the start (KillMode=control-group)
        instance.Deadline.Arm(loop.Time, instance.Definition.KillTimeout, loop.DeadlineFor(instance));
    }

    public void OnChildExited(ChildExit exit)
    {
        if (!loop.Registry.Processes.Remove(exit.Pid, out var owner))
        {
            loop.Log.LogUnknownChild(exit.Pid, exit.Status.ToString());
            return;
        }
        var (instance, kind) = owner;
        instance.Pids.Remove(kind);
        if (kind == ProcessKind.Main) exit = exit with { Status = WithOutOfMemory(instance, exit.Status) };
        spawner.RecordExit(instance, kind, exit.Pid, exit.Status, null);
        if (kind == ProcessKind.Main) loop.Log.LogMainExited(instance.DisplayName, kind.Name(), exit.Pid, exit.Status.ToString());
        else loop.Log.LogProcessExited(instance.DisplayName, kind.Name(), exit.Pid, exit.Status.ToString());

        // The exit rules are the kind's (ProcessKinds, spec §7); what the end means for the instance is the machine's.
        switch (kind.Info().Exit)
        {
            case ProcessExitRule.MainRules:
                var group = instance.MainProcessGroup;
                instance.MainProcessGroup = 0;
                Act(instance, InstanceInput.MainExited, new MainExit(exit.Pid, exit.Status, group));
                break;
            case ProcessExitRule.AnswersRequest:
                checks.OnExited(instance, exit.Pid, exit.Status);
                break;
            case ProcessExitRule.CountsTowardsHealth:
                health.OnExited(instance, exit.Pid, exit.Status);
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

    /// <summary>
    /// A main process SIGKILLed while its cgroup recorded an OOM kill since this start began: it ran out of memory, and
    /// says which limit (status, show, <c>exited</c>'s OOM=yes). One cgroup per start, so an earlier start's OOM kill
    /// never counts; one of its children killed for memory earlier in the same start would (said in job-files.md).
    /// </summary>
    private ExitStatus WithOutOfMemory(JobInstance instance, ExitStatus status)
    {
        if (status.Signal != Signals.SIGKILL || instance.Tag.Length == 0 || loop.Processes.OomKills(instance.Tag) == 0) return status;
        var limit = Processes.Containment.CgroupSettings.From(instance.Definition).FirstOrDefault(s => s.Controller == "memory");
        return status with { OutOfMemory = limit?.Stanza ?? "" };
    }

    private void OnMainExitWhileRunning(JobInstance instance, int pid, ExitStatus status)
    {
        var definition = instance.Definition;
        if (instance.Goal == JobGoal.Stop)
        {
            events.EmitExited(instance, pid, status, respawn: false);
            Advance(instance);
            return;
        }
        if (StartGrace.FailedWithin(definition, instance.MainStarted, loop.Time.GetUtcNow(), status) is { } withinGrace)
        {
            // The start failed: goal stop, and no respawn.
            FailAndStop(instance, ProcessKind.Main, status, null, withinGrace);
        }
        else if (IsFailure(definition, status))
        {
            if (!definition.Respawn)
            {
                FailAndStop(instance, ProcessKind.Main, status);
            }
            else if (_respawns.TooFast(definition.RespawnLimit, instance.Respawn))
            {
                loop.Log.LogRespawningTooFast(instance.DisplayName, definition.RespawnLimit.Count, definition.RespawnLimit.IntervalSeconds);
                FailAndStop(instance, null, null);
            }
            else
            {
                instance.Respawn.Count++;
                instance.Respawn.DelayDue = _respawns.NextDelay(definition.RespawnDelay, instance.Respawn, instance.MainStarted);
                if (instance.Respawn.DelayDue is { } delay) loop.Log.LogRespawningAfter(instance.DisplayName, delay.TotalSeconds);
                else loop.Log.LogRespawning(instance.DisplayName);
            }
        }
        else
        {
            ChangeGoalQuietly(instance, JobGoal.Stop);
        }
        // Announced before anything else happens to the job (the respawn's stopping, or the stop).
        events.EmitExited(instance, pid, status, respawn: instance.Goal == JobGoal.Start);
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
        // An adopted process's end whose status went elsewhere: not a failure supd can claim.
        return !status.IsSuccess && !status.IsUnknown;
    }

    /// <summary>
    /// The health check found the running instance unhealthy: it goes down and comes back as a crashed one would
    /// (running → stopping → killed → post-stop → [respawning →] starting), counted by its respawn limit and after its
    /// respawn delay, whether or not the job has <c>respawn</c>: a job with a health check wants to be up.
    /// </summary>
    public void RestartUnhealthy(JobInstance instance, string reason)
    {
        if (instance.State != JobState.Running || instance.Goal != JobGoal.Start) return;
        var definition = instance.Definition;
        if (_respawns.TooFast(definition.RespawnLimit, instance.Respawn))
        {
            loop.Log.LogRespawningTooFast(instance.DisplayName, definition.RespawnLimit.Count, definition.RespawnLimit.IntervalSeconds);
            FailAndStop(instance, null, null, null, FormattableString.Invariant(
                $"{reason}; restarted too often, more than {definition.RespawnLimit.Count} times in {definition.RespawnLimit.IntervalSeconds}s"));
        }
        else
        {
            instance.Respawn.Count++;
            instance.Respawn.DelayDue = _respawns.NextDelay(definition.RespawnDelay, instance.Respawn, instance.MainStarted);
            loop.Log.LogUnhealthyRestart(instance.DisplayName, reason);
        }
        ChangeState(instance, JobState.Stopping);
    }

    /// <summary>
    /// A main process that could not be spawned for a transient reason (EMFILE, EAGAIN, …) is a crash like any other
    /// for a respawning job: it goes down and comes back under its respawn limit, after its respawn delay or
    /// <see cref="TransientSpawnRetry"/>, so a moment without fds does not leave a service failed for good.
    /// </summary>
    private bool RetryTransientSpawn(JobInstance instance, string error)
    {
        var definition = instance.Definition;
        if (!definition.Respawn || instance.Goal != JobGoal.Start || _respawns.TooFast(definition.RespawnLimit, instance.Respawn)) return false;
        instance.Respawn.Count++;
        instance.Respawn.DelayDue = _respawns.NextDelay(definition.RespawnDelay, instance.Respawn, instance.MainStarted) ?? TransientSpawnRetry;
        loop.Log.LogSpawnRetry(instance.DisplayName, error, instance.Respawn.DelayDue.Value.TotalSeconds);
        ChangeState(instance, JobState.Stopping);
        return true;
    }

    /// <summary>As a service reaches running: true when its waiters wait out its start grace (the deadline of running).</summary>
    private bool HoldForStartGrace(JobInstance instance)
    {
        if (StartGrace.Remaining(instance.Definition, instance.MainStarted, loop.Time.GetUtcNow()) is not { } remaining) return false;
        instance.Deadline.Arm(loop.Time, remaining, loop.DeadlineFor(instance));
        return true;
    }

    /// <summary>A failure that ends the cycle: recorded, and the goal becomes stop without a transition of its own.</summary>
    private void FailAndStop(JobInstance instance, ProcessKind? process, ExitStatus? status, string? spawnError = null, string? reason = null)
    {
        Fail(instance, process, status, spawnError, reason);
        ChangeGoalQuietly(instance, JobGoal.Stop);
    }

    /// <summary>Records the cycle's first failure (process null means "respawn": too fast) and fails the events it holds.</summary>
    private static void Fail(JobInstance instance, ProcessKind? process, ExitStatus? status, string? spawnError, string? reason)
    {
        if (instance.Failed) return;
        instance.Failure = InstanceFailure.Of(instance, process, status, spawnError, reason);
        foreach (var e in instance.Blocking)
        {
            e.Failed = true;
            e.Failures.Add(Replies.Explain(instance));
        }
    }

    /// <summary>
    /// A job marked <c>critical</c> that came to rest (waiting) with a failure, be it a process failure that stopped it
    /// or its respawn limit, is reported once, for the first such job; the host acts on it. A respawn never rests, and a
    /// stop someone asked for is not a failure.
    /// </summary>
    private void CheckCritical(JobInstance instance)
    {
        if (!instance.Failed || !instance.Definition.Critical) return;
        var failure = new CriticalJobFailure(instance.Class.Name, instance.Name, instance.Failure?.Reason ?? "failed");
        if (_criticalFailure.TrySetResult(failure)) loop.Log.LogCriticalJobFailed(failure.DisplayName, failure.Reason);
    }
}
