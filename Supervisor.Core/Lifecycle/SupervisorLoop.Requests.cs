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
            if (jobClass.Instances.Count == 0) list.Add(ClassSnapshot(jobClass));
            else list.AddRange(jobClass.Instances.Values.OrderBy(i => i.Name, StringComparer.Ordinal).Select(Snapshot));
        }
        return list;
    }

    private JobStatusSnapshot Status(string job, IReadOnlyList<string> environment)
    {
        var jobClass = FindClass(job);
        CheckAssignments(environment);
        var requestEnvironment = ClassEnvironment(jobClass.Definition);
        requestEnvironment.AddRange(environment);
        if (!TryInstanceFor(jobClass, requestEnvironment, create: false, out var instance, out var error))
            throw new SupervisorException(SupervisorError.InvalidArgument, error!);
        if (instance is not null) return Snapshot(instance);
        if (jobClass.Definition.Instance.Length > 0)
            throw UnknownInstance(jobClass, requestEnvironment);
        return ClassSnapshot(jobClass);
    }

    private void HandleJobCommand(JobCommandInput input)
    {
        try
        {
            var jobClass = FindClass(input.Job);
            CheckAssignments(input.Environment);
            var requestEnvironment = ClassEnvironment(jobClass.Definition);
            requestEnvironment.AddRange(input.Environment);
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

    private void Start(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        if (IsShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        if (!TryInstanceFor(jobClass, environment, create: true, out var instance, out var error))
            throw new SupervisorException(SupervisorError.InvalidArgument, error!);
        if (instance!.Goal == JobGoal.Start)
            throw new SupervisorException(SupervisorError.AlreadyRunning, $"Job is already running: {instance.DisplayName}");
        instance.PendingStartEnvironment = environment;
        Await(instance, JobGoal.Start, input);
        ChangeGoal(instance, JobGoal.Start);
    }

    private void Stop(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = ExistingInstance(jobClass, environment);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        var stopEnvironment = new EnvironmentList(input.Environment);
        instance.StopEnvironment = stopEnvironment;
        Await(instance, JobGoal.Stop, input);
        ChangeGoal(instance, JobGoal.Stop);
    }

    private void Restart(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        if (IsShuttingDown) throw new SupervisorException(SupervisorError.ShuttingDown, "supd is shutting down");
        var instance = ExistingInstance(jobClass, environment);
        if (instance.Goal == JobGoal.Stop)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {instance.DisplayName}");
        // New variables replace the start environment; none keeps the one it has.
        if (input.Environment.Count > 0) instance.PendingStartEnvironment = environment;
        Await(instance, JobGoal.Start, input);
        ChangeGoal(instance, JobGoal.Stop);
        ChangeGoal(instance, JobGoal.Start);
    }

    private void Reload(JobClass jobClass, EnvironmentList environment, JobCommandInput input)
    {
        var instance = ExistingInstance(jobClass, environment);
        if (!instance.MainAlive)
            throw new SupervisorException(SupervisorError.NotRunning, $"Job is not running: {instance.DisplayName}");
        var signal = instance.Definition.ReloadSignal;
        LogReloading(instance.DisplayName, instance.MainPid, Signals.Name(signal));
        _processes.Signal(instance.MainPid, signal);
        input.Reply.TrySetResult(Snapshot(instance));
    }

    // Without wait the reply is the status right after the goal change.
    private void Await(JobInstance instance, JobGoal goal, JobCommandInput input)
    {
        if (input.Wait) instance.Waiters.Add(new InstanceWaiter(goal, input.Reply));
        else input.Reply.TrySetResult(null);
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

    private JobInstance ExistingInstance(JobClass jobClass, EnvironmentList environment)
    {
        if (!TryInstanceFor(jobClass, environment, create: false, out var instance, out var error))
            throw new SupervisorException(SupervisorError.InvalidArgument, error!);
        if (instance is not null) return instance;
        if (jobClass.Definition.Instance.Length == 0)
            throw new SupervisorException(SupervisorError.AlreadyStopped, $"Job has already been stopped: {jobClass.Name}");
        throw UnknownInstance(jobClass, environment);
    }

    private static SupervisorException UnknownInstance(JobClass jobClass, EnvironmentList environment)
    {
        EnvironmentExpander.TryExpand(jobClass.Definition.Instance, environment.Get, out var name, out _);
        return new SupervisorException(SupervisorError.UnknownInstance, $"Unknown instance: {jobClass.Name} ({name})");
    }

    /// <summary>Finds (or creates) the instance that <paramref name="environment"/> names through the job's <c>instance</c> stanza.</summary>
    private bool TryInstanceFor(JobClass jobClass, EnvironmentList environment, bool create, out JobInstance? instance, out string? error)
    {
        instance = null;
        var name = "";
        if (jobClass.Definition.Instance.Length > 0 &&
            !EnvironmentExpander.TryExpand(jobClass.Definition.Instance, environment.Get, out name, out error))
        {
            return false;
        }
        error = null;
        if (jobClass.Instances.TryGetValue(name, out instance)) return true;
        if (!create) return true;
        instance = new JobInstance(jobClass, name, _logs?.For(jobClass.Name, name));
        jobClass.Instances[name] = instance;
        return true;
    }

    private JobStatusSnapshot ClassSnapshot(JobClass jobClass) => new()
    {
        Job = jobClass.Name,
        Description = jobClass.Definition.Description,
        SourcePath = jobClass.Definition.SourcePath,
        LogPath = _logs?.PathFor(jobClass.Name, "") ?? "",
        LastExit = jobClass.LastExit,
        Failure = jobClass.LastFailure,
    };

    private JobStatusSnapshot Snapshot(JobInstance instance) => new()
    {
        Job = instance.Class.Name,
        Instance = instance.Name,
        Goal = instance.Goal,
        State = instance.State,
        Processes = Enum.GetValues<ProcessKind>()
            .Where(instance.Pids.ContainsKey)
            .Select(kind => (kind, instance.Pids[kind]))
            .ToArray(),
        Description = instance.Definition.Description,
        SourcePath = instance.Definition.SourcePath,
        RespawnCount = instance.RespawnCount,
        LastExit = instance.LastExit,
        Failure = instance.FailureReason,
        MainStarted = instance.MainAlive ? instance.MainStarted : null,
        LogPath = instance.Log?.Path ?? "",
        LogBytesDropped = instance.Log?.BytesDropped ?? 0,
        NotApplied = NotAppliedOf(instance),
    };
}
