using Supervisor.Core.Events;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The jobs supd knows (by name, in order), their live instances, and which instance each live process belongs to;
/// with the lookups every request and event makes (a job by name, an instance by name or through the <c>instance</c>
/// stanza). On the loop thread only.
/// </summary>
internal sealed class JobRegistry(JobLogDirectory? logs)
{
    public SortedDictionary<string, JobClass> Jobs { get; } = new(StringComparer.Ordinal);

    /// <summary>Every live process supd spawned or adopted, and whose it is.</summary>
    public Dictionary<int, (JobInstance Instance, ProcessKind Kind)> Processes { get; } = [];

    /// <summary>Jobs whose file was removed, kept until their last instance has stopped.</summary>
    public List<JobClass> Removed { get; } = [];

    public int LiveInstances => Jobs.Values.Sum(c => c.Instances.Count);

    /// <summary>A copy: callers change goals while they walk it, and a stop can remove an instance.</summary>
    public List<JobInstance> AllInstances() => Jobs.Values.SelectMany(c => c.Instances.Values).ToList();

    public JobClass Find(string job) =>
        Jobs.TryGetValue(job, out var jobClass)
            ? jobClass
            : throw new SupervisorException(SupervisorError.UnknownJob, $"Unknown job: {job}");

    /// <summary>The instance a request or event names: by name, or through the job's <c>instance</c> stanza.</summary>
    public JobInstance? Select(JobClass jobClass, EnvironmentList environment, string? instanceName, bool create)
    {
        var name = instanceName ?? InstanceName(jobClass, environment);
        if (jobClass.Instances.TryGetValue(name, out var instance) || !create) return instance;
        instance = new JobInstance(jobClass, name, logs?.For(jobClass.Name, name, jobClass.Definition.LogRotate));
        jobClass.Instances[name] = instance;
        return instance;
    }

    public JobInstance Existing(JobClass jobClass, EnvironmentList environment, string? instanceName) =>
        Select(jobClass, environment, instanceName, create: false)
        ?? throw UnknownInstance(jobClass, instanceName ?? InstanceName(jobClass, environment));

    /// <summary>Expands the <c>instance</c> stanza; a missing variable is refused with the job's usage (spec §10, C83).</summary>
    public static string InstanceName(JobClass jobClass, EnvironmentList environment)
    {
        var template = jobClass.Definition.Instance;
        if (template.Length == 0) return "";
        if (EnvironmentExpander.TryExpand(template, environment.Get, out var name, out var error)) return name;
        var usage = jobClass.Definition.Usage;
        throw new SupervisorException(SupervisorError.InvalidArgument, error!, usage is null ? null : [$"Usage: {usage}"]);
    }

    // Upstart says "Unknown instance: " with the (often empty) instance name; supd names the job too.
    public static SupervisorException UnknownInstance(JobClass jobClass, string name) =>
        new(SupervisorError.UnknownInstance, $"Unknown instance: {StatusLineFormat.DisplayName(jobClass.Name, name)}");

    /// <summary>Forgets removed jobs once their last instance has stopped.</summary>
    public void ForgetRemovedJobs()
    {
        for (var i = Removed.Count - 1; i >= 0; i--)
        {
            var jobClass = Removed[i];
            if (jobClass.Instances.Count > 0) continue;
            Removed.RemoveAt(i);
            if (Jobs.TryGetValue(jobClass.Name, out var current) && ReferenceEquals(current, jobClass)) Jobs.Remove(jobClass.Name);
        }
    }
}
