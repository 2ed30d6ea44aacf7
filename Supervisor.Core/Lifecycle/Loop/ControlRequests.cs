using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The control requests and queries, with initctl's refusals (spec §10): each is validated here (the job and instance
/// exist, the variables are assignments a caller may give) and then becomes a goal for the lifecycle, a check to run
/// first, an event, or a snapshot. Refusals are <see cref="SupervisorException"/>s that go back to the caller.
/// </summary>
internal sealed class ControlRequests(
    LoopContext loop, JobEnvironment environments, InstanceLifecycle lifecycle, CheckGate checks, PersistedGoals goals,
    EventQueue events, Replies replies)
{
    private const int MaxInstancesListed = 20;

    private JobRegistry Registry => loop.Registry;

    public IReadOnlyList<JobDefinition> Definitions(string? job)
    {
        if (job is not null) Registry.Find(job);
        return Registry.Jobs.Values.Select(c => c.Definition).ToList();
    }

    public IReadOnlyList<JobStatusSnapshot> List()
    {
        var list = new List<JobStatusSnapshot>();
        foreach (var jobClass in Registry.Jobs.Values)
        {
            if (jobClass.Instances.Count == 0) list.Add(loop.Status.Class(jobClass));
            else list.AddRange(jobClass.Instances.Values.OrderBy(i => i.Name, StringComparer.Ordinal).Select(loop.Status.Instance));
        }
        return list;
    }

    public JobStatusSnapshot Status(string job, IReadOnlyList<string> environment, string? instanceName)
    {
        var jobClass = Registry.Find(job);
        CheckAssignments(environment);
        var requestEnvironment = environments.ForRequest(jobClass.Definition, environment);
        instanceName ??= InstanceNameOrExplain(jobClass, requestEnvironment);
        if (Registry.Select(jobClass, requestEnvironment, instanceName, create: false) is { } instance) return loop.Status.Instance(instance);
        if (jobClass.Definition.Instance.Length > 0 || !string.IsNullOrEmpty(instanceName))
            throw JobRegistry.UnknownInstance(jobClass, instanceName ?? JobRegistry.InstanceName(jobClass, requestEnvironment));
        return loop.Status.Class(jobClass);
    }

    /// <summary>
    /// The log of one instance, running or not: a finished instance's log stays readable (<c>supctl log JOB K=V</c>)
    /// until the instance-log retention removes it.
    /// </summary>
    public string LogPath(string job, IReadOnlyList<string> environment, string? instanceName)
    {
        var jobClass = Registry.Find(job);
        CheckAssignments(environment);
        var requestEnvironment = environments.ForRequest(jobClass.Definition, environment);
        var name = instanceName ?? InstanceNameOrExplain(jobClass, requestEnvironment, verb: "log");
        if (jobClass.Instances.TryGetValue(name, out var instance) && instance.Log is { } log) return log.Path;
        return loop.Logs?.PathFor(jobClass.Name, name) ?? "";
    }

    public void HandleJobCommand(JobCommandInput input)
    {
        try
        {
            var jobClass = Registry.Find(input.Job);
            CheckAssignments(input.Environment);
            // Variables cannot raise privilege: those of a caller without admin must be ones the job declares.
            if (input.Restricted is { } caller && input.Command != JobCommand.Reload)
                VariablePolicy.Check(jobClass.Definition, input.Environment, caller, environments.Configured);
            var requestEnvironment = environments.ForRequest(jobClass.Definition, input.Environment);
            if (input.Instance is null) InstanceNameOrExplain(jobClass, requestEnvironment, input.Command);
            switch (input.Command)
            {
                case JobCommand.Start: Start(jobClass, requestEnvironment, input); break;
                case JobCommand.Stop: Stop(jobClass, requestEnvironment, input); break;
                case JobCommand.Restart: Restart(jobClass, requestEnvironment, input); break;
                case JobCommand.Reload: Reload(jobClass, requestEnvironment, input); break;
            }
        }
        catch (SupervisorException e)
        {
            input.Reply.TrySetException(e);
        }
    }

    /// <summary>A request's variables, marked untrusted when its caller lacks admin (they were checked against the job).</summary>
    private static EnvironmentList RequestVariables(JobCommandInput input)
    {
        var variables = new EnvironmentList(input.Environment);
        return input.Restricted is null ? variables : variables.MarkAllUntrusted();
    }

    private void Start(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        if (loop.ShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        if (jobClass.Removed) throw new SupervisorException(SupervisorError.UnknownJob, $"Unknown job: {jobClass.Name} (removed from disk)");
        var instance = Registry.Select(jobClass, environment, input.Instance, create: true)!;
        if (instance.State == JobState.Respawning)
        {
            // start cuts a respawn delay short; as with restart, no variables keep the ones it has.
            if (input.Environment.Count > 0) instance.PendingStartVariables = RequestVariables(input);
            Await(instance, JobGoal.Start, input);
            lifecycle.Act(instance, InstanceInput.StartNow);
            return;
        }
        if (instance.Goal == JobGoal.Start)
            throw new SupervisorException(SupervisorError.AlreadyRunning, $"Job is already running: {instance.DisplayName}");
        instance.PendingStartVariables = RequestVariables(input);
        instance.StartedByBoot = false;
        goals.StartedByHand(instance, input);
        Await(instance, JobGoal.Start, input);
        lifecycle.ChangeGoal(instance, JobGoal.Start);
    }

    private void Stop(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = Registry.Existing(jobClass, environment, input.Instance);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        instance.StopEnvironment = RequestVariables(input);
        // A job that stops itself (stop inside its own process, which names its instance) is no operator's stop.
        instance.StopCause = input.Instance is null ? $"by hand, by {input.By ?? "supd"}" : "by the job itself (stop from inside it)";
        goals.StoppedByHand(instance, input);
        Await(instance, JobGoal.Stop, input);
        lifecycle.ChangeGoal(instance, JobGoal.Stop);
    }

    private void Restart(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        if (loop.ShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        var instance = Registry.Existing(jobClass, environment, input.Instance);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        if (checks.Start(instance, input)) return;
        // Upstart 1.12: the variables given replace the start environment, and none means none (not the old ones).
        instance.PendingStartVariables = RequestVariables(input);
        instance.StartedByBoot = false;
        goals.RestartedByHand(instance, input);
        Await(instance, JobGoal.Start, input);
        if (instance.State == JobState.Respawning)
        {
            // The job is down, waiting out a respawn delay: restarting it is starting it now.
            lifecycle.Act(instance, InstanceInput.StartNow);
            return;
        }
        lifecycle.ChangeGoal(instance, JobGoal.Stop);
        lifecycle.ChangeGoal(instance, JobGoal.Start);
    }

    private void Reload(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = Registry.Existing(jobClass, environment, input.Instance);
        if (!instance.MainAlive)
            throw new SupervisorException(SupervisorError.NotRunning, $"Job is not running: {instance.DisplayName}");
        if (checks.Start(instance, input)) return;
        var signal = instance.Definition.ReloadSignal;
        // To the main process's group, as every signal supd sends a job (Upstart sent reload to the main pid only).
        loop.Log.LogReloading(instance.DisplayName, instance.MainProcessGroup, Signals.Name(signal));
        if (!loop.Processes.SignalGroup(instance.MainProcessGroup, signal)) loop.Processes.Signal(instance.MainPid, signal);
        input.Reply.TrySetResult(loop.Status.Instance(instance));
    }

    // Without wait the reply is the status once this request has settled: after the event queue has run, the job
    // has gone as far as it can without outside input (a service or task that starts at once is running).
    private void Await(JobInstance instance, JobGoal goal, JobCommandInput input)
    {
        if (input.Wait) instance.Waiters.Add(new InstanceWaiter(goal, input.Reply, input.Command == JobCommand.Restart));
        else loop.AfterSettling(() => input.Reply.TrySetResult(loop.Status.Current(instance)));
    }

    /// <summary><c>supctl emit</c>: a bounded number of events in flight; with wait, answered when the event finishes (spec §8).</summary>
    public void HandleEmit(EmitInput input)
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
        if (events.InFlight >= Limits.MaxEventsInFlight)
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
        var e = events.Emit(input.Name, variables);
        if (!input.Wait)
        {
            // Once what the event set off has settled, as a start without wait (Await).
            loop.AfterSettling(() => input.Reply.TrySetResult());
            return;
        }
        e.OnFinished.Add(finished =>
        {
            if (finished.Failed) replies.RejectExplained(input.Reply, SupervisorError.EventFailed, "Event failed", finished.Failures);
            else input.Reply.TrySetResult();
        });
    }

    private static void CheckAssignments(IReadOnlyList<string> environment)
    {
        if (!EnvironmentList.AreAssignments(environment))
            throw new SupervisorException(SupervisorError.InvalidArgument, "Env must be KEY=VALUE pairs");
    }

    /// <summary>
    /// The instance name a request's variables give; when they cannot name one (<c>Unknown parameter: PID</c>), the
    /// refusal also says the job is an instance job, how to name an instance, and which instances exist.
    /// </summary>
    /// <param name="verb">The verb the hint names when no <paramref name="command"/> is given (status, show, log).</param>
    private string InstanceNameOrExplain(JobClass jobClass, EnvironmentList environment, JobCommand? command = null, string verb = "status")
    {
        try
        {
            return JobRegistry.InstanceName(jobClass, environment);
        }
        catch (SupervisorException e) when (e.Error == SupervisorError.InvalidArgument)
        {
            throw ExplainInstances(jobClass, e, command, verb);
        }
    }

    /// <summary>The variables an <c>instance</c> template uses, in order (found by expanding it with a recording lookup).</summary>
    private static List<string> VariableNames(string template)
    {
        var names = new List<string>();
        EnvironmentExpander.TryExpand(template, name =>
        {
            if (!names.Contains(name)) names.Add(name);
            return "";
        }, out _, out _);
        return names;
    }

    private SupervisorException ExplainInstances(JobClass jobClass, SupervisorException refusal, JobCommand? command, string verb)
    {
        var definition = jobClass.Definition;
        var variables = VariableNames(definition.Instance);
        verb = command switch
        {
            JobCommand.Start => "start", JobCommand.Stop => "stop", JobCommand.Restart => "restart", JobCommand.Reload => "reload",
            _ => verb,
        };
        // start keeps initctl's exact refusal (and its Usage line); a job without usage gets the hint instead.
        if (command is JobCommand.Start && definition.Usage is not null) return refusal;
        var details = new List<string>(refusal.Details)
        {
            $"{jobClass.Name} is an instance job (instance {definition.Instance}): name one, e.g. " +
            $"supctl {verb} {jobClass.Name} {string.Join(' ', variables.Select(v => v + "=…"))}".TrimEnd(),
        };
        if (command is JobCommand.Start) return new SupervisorException(refusal.Error, refusal.Message, details);
        if (jobClass.Instances.Count == 0)
        {
            details.Add($"It has no instances now (supctl log {jobClass.Name} VAR=… still reads a finished one's log).");
        }
        else
        {
            details.Add($"Its instances ({jobClass.Instances.Count}):");
            foreach (var instance in jobClass.Instances.Values.OrderBy(i => i.Name, StringComparer.Ordinal).Take(MaxInstancesListed))
            {
                var naming = string.Join(' ', variables.Select(v => $"{v}={instance.Environment.Get(v)}"));
                details.Add($"  {loop.Status.Instance(instance).StatusLine().Split('\n')[0]}{(naming.Length == 0 ? "" : $"   [{naming}]")}");
            }
            if (jobClass.Instances.Count > MaxInstancesListed) details.Add($"  … and {jobClass.Instances.Count - MaxInstancesListed} more (supctl list)");
        }
        return new SupervisorException(refusal.Error, refusal.Message, details);
    }
}
