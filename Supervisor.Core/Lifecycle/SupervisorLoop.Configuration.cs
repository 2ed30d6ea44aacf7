using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>What one reload-configuration did: job names added, changed and removed, and the files rejected.</summary>
public sealed record ConfigurationChanges(
    IReadOnlyList<string> Added, IReadOnlyList<string> Changed, IReadOnlyList<string> Removed, IReadOnlyList<ParseError> Errors);

// reload-configuration: the job dirs as read again, applied to the loaded jobs in one message.
public sealed partial class SupervisorLoop
{
    private readonly List<JobClass> _removedJobs = [];

    /// <summary>
    /// Applies job files read again (SIGHUP, <c>supctl reload-configuration</c>): new jobs appear, removed jobs are
    /// stopped and forgotten, changed jobs take the new definition at their next start. A job whose file was rejected
    /// keeps its previous good definition.
    /// </summary>
    public Task<ConfigurationChanges> ReloadConfigurationAsync(JobLoadResult loaded) =>
        Ask<ConfigurationChanges>(r => new ReloadConfigurationInput(loaded, r));

    private ConfigurationChanges ReloadConfiguration(JobLoadResult loaded)
    {
        var plan = ConfigurationDiff.Plan(_jobs.Values.Select(c => (c.Definition, c.Removed)).ToList(), loaded);
        foreach (var name in plan.Revived)
        {
            var jobClass = _jobs[name];
            jobClass.Removed = false;
            _removedJobs.Remove(jobClass);
        }
        foreach (var definition in plan.Redefined) _jobs[definition.Name].Redefine(definition);
        foreach (var name in plan.Removed) RemoveJob(_jobs[name]);
        foreach (var definition in plan.Added) _jobs[definition.Name] = new JobClass(definition);
        var changes = plan.Changes(loaded.Errors);
        LogConfigurationReloaded(changes.Added.Count, changes.Changed.Count, changes.Removed.Count, loaded.Errors.Count);
        return changes;
    }

    private void RemoveJob(JobClass jobClass)
    {
        jobClass.Removed = true;
        _removedJobs.Add(jobClass);
        foreach (var instance in jobClass.Instances.Values.ToList())
        {
            if (instance.Goal == JobGoal.Start) instance.StopCause = "its job file was removed (reload-configuration)";
            ChangeGoal(instance, JobGoal.Stop);
        }
    }

    /// <summary>Forgets removed jobs once their last instance has stopped.</summary>
    private void ForgetRemovedJobs()
    {
        for (var i = _removedJobs.Count - 1; i >= 0; i--)
        {
            var jobClass = _removedJobs[i];
            if (jobClass.Instances.Count > 0) continue;
            _removedJobs.RemoveAt(i);
            if (_jobs.TryGetValue(jobClass.Name, out var current) && ReferenceEquals(current, jobClass)) _jobs.Remove(jobClass.Name);
        }
    }
}
