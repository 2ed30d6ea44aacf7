using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// Control requests and queries, with initctl's refusals (spec §10).
public sealed partial class SupervisorLoop
{
    private IReadOnlyList<JobStatusSnapshot> List()
    {
        var list = new List<JobStatusSnapshot>();
        foreach (var jobClass in _jobs.Values)
        {
            if (jobClass.Instances.Count == 0) list.Add(_status.Class(jobClass));
            else list.AddRange(jobClass.Instances.Values.OrderBy(i => i.Name, StringComparer.Ordinal).Select(_status.Instance));
        }
        return list;
    }

    private JobStatusSnapshot Status(string job, IReadOnlyList<string> environment, string? instanceName)
    {
        var jobClass = FindClass(job);
        CheckAssignments(environment);
        var requestEnvironment = ClassEnvironment(jobClass.Definition);
        requestEnvironment.AddRange(environment);
        instanceName ??= InstanceNameOrExplain(jobClass, requestEnvironment);
        if (Select(jobClass, requestEnvironment, instanceName, create: false) is { } instance) return _status.Instance(instance);
        if (jobClass.Definition.Instance.Length > 0 || !string.IsNullOrEmpty(instanceName))
            throw UnknownInstance(jobClass, instanceName ?? InstanceName(jobClass, requestEnvironment));
        return _status.Class(jobClass);
    }

    /// <summary>
    /// The log of one instance, running or not: a finished instance's log stays readable (<c>supctl log JOB K=V</c>)
    /// until the instance-log retention removes it.
    /// </summary>
    private string LogPath(string job, IReadOnlyList<string> environment, string? instanceName)
    {
        var jobClass = FindClass(job);
        CheckAssignments(environment);
        var requestEnvironment = ClassEnvironment(jobClass.Definition);
        requestEnvironment.AddRange(environment);
        var name = instanceName ?? InstanceNameOrExplain(jobClass, requestEnvironment, verb: "log");
        if (jobClass.Instances.TryGetValue(name, out var instance) && instance.Log is { } log) return log.Path;
        return _logs?.PathFor(jobClass.Name, name) ?? "";
    }

    private void HandleJobCommand(JobCommandInput input)
    {
        try
        {
            var jobClass = FindClass(input.Job);
            CheckAssignments(input.Environment);
            // Variables cannot raise privilege: those of a caller without admin must be ones the job declares.
            if (input.Restricted is { } caller && input.Command != JobCommand.Reload)
                VariablePolicy.Check(jobClass.Definition, input.Environment, caller, _options.JobEnvironment.Select(e => e.Key));
            var requestEnvironment = ClassEnvironment(jobClass.Definition);
            requestEnvironment.AddRange(input.Environment);
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
        if (IsShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        if (jobClass.Removed) throw new SupervisorException(SupervisorError.UnknownJob, $"Unknown job: {jobClass.Name} (removed from disk)");
        var instance = Select(jobClass, environment, input.Instance, create: true)!;
        if (instance.State == JobState.Respawning)
        {
            // start cuts a respawn delay short; as with restart, no variables keep the ones it has.
            if (input.Environment.Count > 0) instance.PendingStartVariables = RequestVariables(input);
            Await(instance, JobGoal.Start, input);
            Act(instance, InstanceInput.StartNow);
            return;
        }
        if (instance.Goal == JobGoal.Start)
            throw new SupervisorException(SupervisorError.AlreadyRunning, $"Job is already running: {instance.DisplayName}");
        instance.PendingStartVariables = RequestVariables(input);
        instance.StartedByBoot = false;
        StartedByHand(instance, input);
        Await(instance, JobGoal.Start, input);
        ChangeGoal(instance, JobGoal.Start);
    }

    private void Stop(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = ExistingInstance(jobClass, environment, input.Instance);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        var stopEnvironment = RequestVariables(input);
        instance.StopEnvironment = stopEnvironment;
        // A job that stops itself (stop inside its own process, which names its instance) is no operator's stop.
        instance.StopCause = input.Instance is null ? $"by hand, by {input.By ?? "supd"}" : "by the job itself (stop from inside it)";
        StoppedByHand(instance, input);
        Await(instance, JobGoal.Stop, input);
        ChangeGoal(instance, JobGoal.Stop);
    }

    private void Restart(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        if (IsShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        var instance = ExistingInstance(jobClass, environment, input.Instance);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        if (StartCheck(instance, input)) return;
        // Upstart 1.12: the variables given replace the start environment, and none means none (not the old ones).
        instance.PendingStartVariables = RequestVariables(input);
        instance.StartedByBoot = false;
        if (input.Instance is null) _goals.RestartedByHand(instance.Class.Name, instance.Name, input.Environment.ToArray());
        Await(instance, JobGoal.Start, input);
        if (instance.State == JobState.Respawning)
        {
            // The job is down, waiting out a respawn delay: restarting it is starting it now.
            Act(instance, InstanceInput.StartNow);
            return;
        }
        ChangeGoal(instance, JobGoal.Stop);
        ChangeGoal(instance, JobGoal.Start);
    }

    private void Reload(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = ExistingInstance(jobClass, environment, input.Instance);
        if (!instance.MainAlive)
            throw new SupervisorException(SupervisorError.NotRunning, $"Job is not running: {instance.DisplayName}");
        if (StartCheck(instance, input)) return;
        var signal = instance.Definition.ReloadSignal;
        // To the main process's group, as every signal supd sends a job (Upstart sent reload to the main pid only).
        LogReloading(instance.DisplayName, instance.MainProcessGroup, Signals.Name(signal));
        if (!_processes.SignalGroup(instance.MainProcessGroup, signal)) _processes.Signal(instance.MainPid, signal);
        input.Reply.TrySetResult(_status.Instance(instance));
    }

    // Without wait the reply is the status once this request has settled: after the event queue has run, the job
    // has gone as far as it can without outside input (a service or task that starts at once is running).
    private void Await(JobInstance instance, JobGoal goal, JobCommandInput input)
    {
        if (input.Wait) instance.Waiters.Add(new InstanceWaiter(goal, input.Reply, input.Command == JobCommand.Restart));
        else AfterSettling(() => input.Reply.TrySetResult(_status.Current(instance)));
    }

    private JobClass FindClass(string job) =>
        _jobs.TryGetValue(job, out var jobClass)
            ? jobClass
            : throw new SupervisorException(SupervisorError.UnknownJob, $"Unknown job: {job}");

    private static void CheckAssignments(IReadOnlyList<string> environment)
    {
        if (!EnvironmentList.AreAssignments(environment))
            throw new SupervisorException(SupervisorError.InvalidArgument, "Env must be KEY=VALUE pairs");
    }

    private JobInstance ExistingInstance(JobClass jobClass, EnvironmentList environment, string? instanceName) =>
        Select(jobClass, environment, instanceName, create: false)
        ?? throw UnknownInstance(jobClass, instanceName ?? InstanceName(jobClass, environment));

    /// <summary>
    /// The instance name a request's variables give; when they cannot name one (<c>Unknown parameter: PID</c>), the
    /// refusal also says the job is an instance job, how to name an instance, and which instances exist.
    /// </summary>
    /// <param name="verb">The verb the hint names when no <paramref name="command"/> is given (status, show, log).</param>
    private string InstanceNameOrExplain(JobClass jobClass, EnvironmentList environment, JobCommand? command = null, string verb = "status")
    {
        try
        {
            return InstanceName(jobClass, environment);
        }
        catch (SupervisorException e) when (e.Error == SupervisorError.InvalidArgument)
        {
            throw ExplainInstances(jobClass, e, command, verb);
        }
    }

    private const int MaxInstancesListed = 20;

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
                details.Add($"  {_status.Instance(instance).StatusLine().Split('\n')[0]}{(naming.Length == 0 ? "" : $"   [{naming}]")}");
            }
            if (jobClass.Instances.Count > MaxInstancesListed) details.Add($"  … and {jobClass.Instances.Count - MaxInstancesListed} more (supctl list)");
        }
        return new SupervisorException(refusal.Error, refusal.Message, details);
    }

    // Upstart says "Unknown instance: " with the (often empty) instance name; supd names the job too.
    private static SupervisorException UnknownInstance(JobClass jobClass, string name) =>
        new(SupervisorError.UnknownInstance, $"Unknown instance: {(name.Length == 0 ? jobClass.Name : $"{jobClass.Name} ({name})")}");

    /// <summary>The instance a request or event names: by name, or through the job's <c>instance</c> stanza.</summary>
    private JobInstance? Select(JobClass jobClass, EnvironmentList environment, string? instanceName, bool create)
    {
        var name = instanceName ?? InstanceName(jobClass, environment);
        if (jobClass.Instances.TryGetValue(name, out var instance) || !create) return instance;
        instance = new JobInstance(jobClass, name, _logs?.For(jobClass.Name, name, jobClass.Definition.LogRotate));
        jobClass.Instances[name] = instance;
        return instance;
    }

    /// <summary>Expands the <c>instance</c> stanza; a missing variable is refused with the job's usage (spec §10, C83).</summary>
    private static string InstanceName(JobClass jobClass, EnvironmentList environment)
    {
        var template = jobClass.Definition.Instance;
        if (template.Length == 0) return "";
        if (EnvironmentExpander.TryExpand(template, environment.Get, out var name, out var error)) return name;
        var usage = jobClass.Definition.Usage;
        throw new SupervisorException(SupervisorError.InvalidArgument, error!, usage is null ? null : [$"Usage: {usage}"]);
    }

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..499] + "…";
}
