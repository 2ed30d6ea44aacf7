using Microsoft.Extensions.Logging;
using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// Events: emitting, matching against every job (stop conditions first, then start), and finishing (spec §5.3, §8).
public sealed partial class SupervisorLoop
{
    private Event Emit(string name, EnvironmentList environment, bool boot = false)
    {
        var e = new Event(++_nextEventId, name, environment) { Boot = boot };
        _pendingEvents.Enqueue(e);
        LogEventEmitted(e.ToString());
        Publish((sequence, time) => new EventNotification(sequence, time, name, environment.ToStrings()));
        return e;
    }

    /// <summary>Emits starting/started/stopping/stopped with Upstart's variables, in Upstart's order (spec §8).</summary>
    private Event EmitJobEvent(string name, JobInstance instance, bool withResult)
    {
        var environment = new EnvironmentList();
        environment.Set("JOB", instance.Class.Name);
        environment.Set("INSTANCE", instance.Name);
        if (withResult)
        {
            environment.Set("RESULT", instance.Failed ? "failed" : "ok");
            if (instance.Failed)
            {
                environment.Set("PROCESS", instance.Failure!.Process);
                if (instance.Failure?.Status is { } status) SetExitVariables(environment, status);
            }
        }
        AddExports(environment, instance);
        return Emit(name, environment, BootCascade(instance));
    }

    // Boot events still running, and whether a job event of this instance is part of the boot (see Event.Boot).
    private int _bootEventsRunning;
    private bool BootCascade(JobInstance instance) => _bootEventsRunning > 0 && instance.StartedByBoot;

    /// <summary>
    /// Emits <c>startup</c> and the configured boot events, marked as the boot's (<see cref="Event.Boot"/>): an instance
    /// stopped by hand before supd restarted is not started by them. Does not wait for them to finish.
    /// </summary>
    public Task EmitBootEventsAsync(IReadOnlyList<(string Name, string[] Environment)> events) =>
        Ask(r => new BootEventsInput(events, r));

    private void EmitBootEvents(IReadOnlyList<(string Name, string[] Environment)> events)
    {
        foreach (var (name, environment) in events)
        {
            if (string.IsNullOrWhiteSpace(name) || !EnvironmentList.AreAssignments(environment))
                throw new SupervisorException(SupervisorError.InvalidArgument, $"Invalid boot event: {name}");
        }
        foreach (var (name, environment) in events)
        {
            _bootEventsRunning++;
            Emit(name, new EnvironmentList(environment), boot: true).OnFinished.Add(_ => _bootEventsRunning--);
        }
    }

    /// <summary>
    /// supd's <c>exited</c> event: the main process ended, and whether supd respawns it. Emitted every time, before the
    /// respawn's (or the stop's) own events, so <c>start on exited JOB</c> sees every crash; Upstart announced none.
    /// <c>PID</c> is the process that ended: a watcher with <c>instance $PID</c> gets one instance per death, so a
    /// second death while the first one's task still runs is not lost.
    /// </summary>
    private void EmitExited(JobInstance instance, int pid, ExitStatus status, bool respawn)
    {
        var environment = new EnvironmentList();
        environment.Set("JOB", instance.Class.Name);
        environment.Set("INSTANCE", instance.Name);
        environment.Set("PROCESS", ProcessKind.Main.Name());
        environment.Set("PID", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        SetExitVariables(environment, status);
        environment.Set("RESPAWN", respawn ? "yes" : "no");
        AddExports(environment, instance);
        Emit(EventIds.Exited, environment, BootCascade(instance));
    }

    /// <summary>Upstart's <c>EXIT_STATUS=n</c> or <c>EXIT_SIGNAL=NAME</c> (without SIG).</summary>
    private static void SetExitVariables(EnvironmentList environment, ExitStatus status)
    {
        if (status.IsSignal) environment.Set("EXIT_SIGNAL", Signals.Name(status.Signal));
        else environment.Set("EXIT_STATUS", status.Code.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void AddExports(EnvironmentList environment, JobInstance instance)
    {
        foreach (var key in instance.Definition.Export)
        {
            // Exported variables never override the built-in ones. One a caller without admin set stays untrusted.
            if (environment.Get(key) is not null || instance.Environment.Get(key) is not { } value) continue;
            if (instance.Environment.IsUntrusted(key)) environment.SetUntrusted(key, value);
            else environment.Set(key, value);
        }
    }

    private void HandleEmit(EmitInput input)
    {
        if (string.IsNullOrWhiteSpace(input.Name) || input.Name.Any(char.IsWhiteSpace))
        {
            input.Reply.TrySetException(new SupervisorException(SupervisorError.InvalidArgument, $"Invalid event name: '{input.Name}'"));
            return;
        }
        if (!EnvironmentList.AreAssignments(input.Environment))
        {
            input.Reply.TrySetException(new SupervisorException(SupervisorError.InvalidArgument, "Env must be KEY=VALUE pairs"));
            return;
        }
        if (_pendingEvents.Count + _handlingEvents.Count >= Limits.MaxEventsInFlight)
        {
            input.Reply.TrySetException(new SupervisorException(SupervisorError.TooLarge,
                $"too many events in flight ({Limits.MaxEventsInFlight} emitted and not finished); try again later"));
            return;
        }
        var variables = new EnvironmentList(input.Environment);
        if (input.Restricted is { } caller)
        {
            // No job may take these from such a caller; the rest is marked and each job admits what it declares.
            try
            {
                VariablePolicy.CheckEvent(input.Environment, caller);
            }
            catch (SupervisorException refused)
            {
                input.Reply.TrySetException(refused);
                return;
            }
            variables.MarkAllUntrusted();
        }
        var e = Emit(input.Name, variables);
        if (!input.Wait)
        {
            input.Reply.TrySetResult();
            return;
        }
        e.OnFinished.Add(finished =>
        {
            if (finished.Failed) RejectExplained(input.Reply, SupervisorError.EventFailed, "Event failed", finished.Failures);
            else input.Reply.TrySetResult();
        });
    }

    /// <summary>Handles pending events and finishes unblocked ones until nothing changes (Upstart's event_poll).</summary>
    private void PollEvents()
    {
        bool progress;
        do
        {
            progress = false;
            while (_pendingEvents.TryDequeue(out var e))
            {
                e.Progress = EventProgress.Handling;
                HandleEvent(e);
                _handlingEvents.Add(e);
                progress = true;
            }
            for (var i = 0; i < _handlingEvents.Count; i++)
            {
                var e = _handlingEvents[i];
                if (e.Blockers > 0) continue;
                _handlingEvents.RemoveAt(i--);
                FinishEvent(e);
                progress = true;
            }
        }
        while (progress);
    }

    private void FinishEvent(Event e)
    {
        e.Progress = EventProgress.Finished;
        foreach (var callback in e.OnFinished) callback(e);
        e.OnFinished.Clear();
        if (e.Failed && !e.Name.EndsWith("/failed", StringComparison.Ordinal))
            Emit(e.Name + "/failed", e.Environment.Clone());
    }

    /// <summary>Offers an event to every job: stop conditions of live instances first, then start conditions.</summary>
    private void HandleEvent(Event e)
    {
        foreach (var jobClass in _jobs.Values)
        {
            // Every event reaches every job, so this path must not allocate per job: 1000 jobs starting emit 2000
            // events, and a copied instance list each time was 170 MB of garbage (docs/BENCHMARKS.md, S4). A copy is
            // needed only when there are several instances, since a stop can remove one from the class.
            switch (jobClass.Instances.Count)
            {
                case 0:
                    break;
                case 1:
                    foreach (var only in jobClass.Instances.Values)
                    {
                        OfferStop(only, e);
                        break;
                    }
                    break;
                default:
                    foreach (var instance in jobClass.Instances.Values.ToArray()) OfferStop(instance, e);
                    break;
            }

            // A disabled job's condition does not even latch: enabling it starts from nothing.
            if (jobClass.StartOn is not { } startOn || IsShuttingDown || jobClass.Removed || IsDisabled(jobClass)) continue;
            if (!startOn.Handle(e, static _ => null)) continue;
            var variables = Admit(jobClass.Definition, startOn.Environment("UPSTART_EVENTS"));
            var environment = ClassEnvironment(jobClass.Definition);
            environment.AddRange(variables);
            WarnIfSelfTriggered(jobClass, e);
            try
            {
                // An instance stopped by hand before supd restarted is passed by at boot (persisted goals).
                var name = InstanceName(jobClass, environment);
                var target = HeldThroughBoot(jobClass, name, startOn) ? null : Select(jobClass, environment, name, create: true)!;
                if (target is not null && target.Goal != JobGoal.Start)
                {
                    TakeBlocks(target, startOn);
                    target.PendingStartVariables = variables;
                    target.StartedByBoot = startOn.MatchedEvents().All(m => m.Boot);
                    ChangeGoal(target, JobGoal.Start);
                }
            }
            catch (SupervisorException failure)
            {
                LogInstanceNameFailed(jobClass.Name, failure.Message);
            }
            startOn.Reset();
        }
    }

    private void OfferStop(JobInstance instance, Event e)
    {
        if (instance.StopOn is not { } stopOn) return;
        if (!stopOn.Handle(e, instance.Lookup)) return;
        if (instance.Goal != JobGoal.Stop)
        {
            TakeBlocks(instance, stopOn);
            instance.StopEnvironment = Admit(instance.Definition, stopOn.Environment("UPSTART_STOP_EVENTS"));
            instance.StopCause = Shorten("by stop on: " + string.Join(", ", stopOn.MatchedEvents().Select(m => m.ToString())));
            ChangeGoal(instance, JobGoal.Stop);
        }
        stopOn.Reset();
    }

    /// <summary>
    /// Drops the variables a caller without admin put into the matched events that this job does not accept
    /// (<see cref="VariablePolicy"/>): an emit reaches every job, and each takes only what it declares.
    /// </summary>
    private EnvironmentList Admit(Language.JobDefinition job, EnvironmentList variables)
    {
        if (!variables.HasUntrusted) return variables;
        List<string>? dropped = null;
        foreach (var (key, _) in variables.Entries)
        {
            if (variables.IsUntrusted(key) && VariablePolicy.Refusal(job, key, _options.JobEnvironment.Select(e => e.Key)) is not null)
                (dropped ??= []).Add(key);
        }
        if (dropped is null) return variables;
        foreach (var key in dropped) variables.Remove(key);
        _droppedVariables += dropped.Count;
        LogVariablesDropped(job.Name, dropped.Count, string.Join(' ', dropped.Take(8)));
        return variables;
    }

    // Upstart loops for ever on a job started by its own events (C88); supd runs it too, but says so once.
    private void WarnIfSelfTriggered(JobClass jobClass, Event e)
    {
        if (jobClass.WarnedSelfTriggered || e.Environment.Get("JOB") != jobClass.Name) return;
        if (!EventIds.StateEvents.Contains(e.Name)) return;
        jobClass.WarnedSelfTriggered = true;
        LogSelfTriggered(jobClass.Name, e.Name);
    }

    // The instance holds the events that satisfied its condition until it reaches its rest state.
    private static void TakeBlocks(JobInstance instance, EventMatcher matcher)
    {
        foreach (var e in matcher.MatchedEvents())
        {
            e.Block();
            instance.Blocking.Add(e);
        }
    }

    /// <summary>Variables from callers without admin that a job did not accept (dropped from events), since start.</summary>
    public long DroppedVariables => Interlocked.Read(ref _droppedVariables);

    private long _droppedVariables;

    [LoggerMessage(EventId = 430, Level = LogLevel.Warning, Message = "{Job}: dropped {Count} variable(s) a caller without admin put into its events, which the job does not declare: {Names}")]
    private partial void LogVariablesDropped(string job, int count, string names);
}
