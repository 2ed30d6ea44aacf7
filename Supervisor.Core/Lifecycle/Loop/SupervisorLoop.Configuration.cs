using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>What one reload-configuration did: job names added, changed and removed, and the files rejected.</summary>
public sealed record ConfigurationChanges(
    IReadOnlyList<string> Added, IReadOnlyList<string> Changed, IReadOnlyList<string> Removed, IReadOnlyList<ParseError> Errors);

// reload-configuration: the job dirs as read again, applied to the loaded jobs in one message (the plan is
// ConfigurationDiff's).
public sealed partial class SupervisorLoop
{
    private ConfigurationChanges ReloadConfiguration(JobLoadResult loaded)
    {
        var registry = _loop.Registry;
        var jobs = registry.Jobs;
        var plan = ConfigurationDiff.Plan(jobs.Values.Select(c => (c.Definition, c.Removed)).ToList(), loaded);
        foreach (var name in plan.Revived)
        {
            var jobClass = jobs[name];
            jobClass.Removed = false;
            registry.Removed.Remove(jobClass);
        }
        foreach (var definition in plan.Redefined) jobs[definition.Name].Redefine(definition);
        foreach (var name in plan.Removed) RemoveJob(jobs[name]);
        foreach (var definition in plan.Added) jobs[definition.Name] = new JobClass(definition);
        var changes = plan.Changes(loaded.Errors);
        _log.LogConfigurationReloaded(changes.Added.Count, changes.Changed.Count, changes.Removed.Count, loaded.Errors.Count);
        return changes;
    }

    // Stopped now, forgotten once its last instance has stopped (JobRegistry.ForgetRemovedJobs).
    private void RemoveJob(JobClass jobClass)
    {
        jobClass.Removed = true;
        _loop.Registry.Removed.Add(jobClass);
        foreach (var instance in jobClass.Instances.Values.ToList())
        {
            if (instance.Goal == JobGoal.Start) instance.StopCause = "its job file was removed (reload-configuration)";
            _lifecycle.ChangeGoal(instance, JobGoal.Stop);
        }
    }
}
