using Supervisor.Core.Access;
using Supervisor.Core.Events;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// What an event does to the jobs (spec §5.3): offered to every job, the <c>stop on</c> conditions of live instances
/// first, then each job's <c>start on</c>; a satisfied condition changes the goal of the instance it names and holds
/// the events that satisfied it until that instance comes to rest. Variables a caller without admin put into an event
/// reach only the jobs that declare them (<see cref="VariablePolicy"/>).
/// </summary>
internal sealed class EventRouting(LoopContext loop, JobEnvironment environments, InstanceLifecycle lifecycle)
{
    private long _droppedVariables;

    /// <summary>Variables from callers without admin that a job did not accept (dropped from events), since start.</summary>
    public long DroppedVariables => Interlocked.Read(ref _droppedVariables);

    /// <summary>Offers one event to every job, in name order.</summary>
    public void Handle(Event e)
    {
        foreach (var jobClass in loop.Registry.Jobs.Values)
        {
            OfferStop(jobClass, e);
            OfferStart(jobClass, e);
        }
    }

    // Every event reaches every instance, so this path must not allocate per instance: 1000 jobs starting emit 2000
    // events, and a copied instance list each time was 170 MB of garbage (docs/BENCHMARKS.md, S4); one job with 10 000
    // instances made it quadratic in memory too. The conditions are judged first, without changing anything (a stop
    // can remove an instance from its class); the few that are satisfied act after.
    private void OfferStop(JobClass jobClass, Event e)
    {
        if (jobClass.InstancesWithStopOn == 0) return;
        List<JobInstance>? satisfied = null;
        foreach (var instance in jobClass.Instances.Values)
        {
            if (instance.StopOn is { } stopOn && stopOn.Handle(e, instance.Lookup)) (satisfied ??= []).Add(instance);
        }
        if (satisfied is null) return;
        foreach (var instance in satisfied) Stop(instance, instance.StopOn!);
    }

    private void OfferStart(JobClass jobClass, Event e)
    {
        // A disabled job's condition does not even latch: enabling it starts from nothing.
        if (jobClass.StartOn is not { } startOn || loop.ShuttingDown || jobClass.Removed || loop.Goals.IsDisabled(jobClass.Name)) return;
        if (!startOn.Handle(e, static _ => null)) return;
        var variables = Admit(jobClass.Definition, startOn.Environment("UPSTART_EVENTS"));
        var environment = environments.ForClass(jobClass.Definition);
        environment.AddRange(variables);
        WarnIfSelfTriggered(jobClass, e);
        try
        {
            // An instance stopped by hand before supd restarted is passed by at boot (persisted goals).
            var name = JobRegistry.InstanceName(jobClass, environment);
            var target = HeldThroughBoot(jobClass, name, startOn) ? null : loop.Registry.Select(jobClass, environment, name, create: true)!;
            if (target is not null && target.Goal != JobGoal.Start)
            {
                TakeBlocks(target, startOn);
                target.PendingStartVariables = variables;
                target.StartedByBoot = startOn.MatchedEvents().All(m => m.Boot);
                lifecycle.ChangeGoal(target, JobGoal.Start);
            }
        }
        catch (SupervisorException failure)
        {
            loop.Log.LogInstanceNameFailed(jobClass.Name, failure.Message);
        }
        startOn.Reset();
    }

    private void Stop(JobInstance instance, EventMatcher stopOn)
    {
        if (instance.Goal != JobGoal.Stop)
        {
            TakeBlocks(instance, stopOn);
            instance.StopEnvironment = Admit(instance.Definition, stopOn.Environment("UPSTART_STOP_EVENTS"));
            instance.StopCause = Shorten("by stop on: " + string.Join(", ", stopOn.MatchedEvents().Select(m => m.ToString())));
            lifecycle.ChangeGoal(instance, JobGoal.Stop);
        }
        stopOn.Reset();
    }

    /// <summary>An event-driven start held back by a stop by hand from before supd restarted (see <see cref="State.GoalRecord.HoldsThroughBoot"/>).</summary>
    private bool HeldThroughBoot(JobClass jobClass, string name, EventMatcher startOn)
    {
        if (!loop.Goals.HoldsThroughBoot(jobClass.Name, name, () => startOn.MatchedEvents().All(e => e.Boot))) return false;
        loop.Log.LogHeldStopped(StatusLineFormat.DisplayName(jobClass.Name, name));
        return true;
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
            if (variables.IsUntrusted(key) && VariablePolicy.Refusal(job, key, environments.Configured) is not null)
                (dropped ??= []).Add(key);
        }
        if (dropped is null) return variables;
        foreach (var key in dropped) variables.Remove(key);
        Interlocked.Add(ref _droppedVariables, dropped.Count);
        loop.Log.LogVariablesDropped(job.Name, dropped.Count, string.Join(' ', dropped.Take(8)));
        return variables;
    }

    // Upstart loops for ever on a job started by its own events (C88); supd runs it too, but says so once.
    private void WarnIfSelfTriggered(JobClass jobClass, Event e)
    {
        if (jobClass.WarnedSelfTriggered || e.Environment.Get("JOB") != jobClass.Name) return;
        if (!EventIds.StateEvents.Contains(e.Name)) return;
        jobClass.WarnedSelfTriggered = true;
        loop.Log.LogSelfTriggered(jobClass.Name, e.Name);
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

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..499] + "…";
}
