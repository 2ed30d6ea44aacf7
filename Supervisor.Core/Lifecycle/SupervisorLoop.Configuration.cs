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
        List<string> added = [], changed = [], removed = [];
        var incoming = loaded.Jobs.ToDictionary(j => j.Name, StringComparer.Ordinal);
        foreach (var jobClass in _jobs.Values.ToList())
        {
            if (incoming.Remove(jobClass.Name, out var definition))
            {
                if (jobClass.Removed)
                {
                    // Back on disk while its instances were still stopping: a job again.
                    jobClass.Removed = false;
                    _removedJobs.Remove(jobClass);
                    added.Add(jobClass.Name);
                }
                else if (definition.SourceText != jobClass.Definition.SourceText)
                {
                    changed.Add(jobClass.Name);
                }
                if (definition.SourceText != jobClass.Definition.SourceText) jobClass.Redefine(definition);
                continue;
            }
            if (jobClass.Removed || loaded.Errors.Any(e => RejectedFile(e, jobClass.Definition))) continue;
            removed.Add(jobClass.Name);
            RemoveJob(jobClass);
        }
        foreach (var definition in incoming.Values)
        {
            _jobs[definition.Name] = new JobClass(definition);
            added.Add(definition.Name);
        }
        added.Sort(StringComparer.Ordinal);
        LogConfigurationReloaded(added.Count, changed.Count, removed.Count, loaded.Errors.Count);
        return new ConfigurationChanges(added, changed, removed, loaded.Errors);
    }

    // The error is about this job's file (its .conf, its .override, new or old, or a directory above it).
    private static bool RejectedFile(ParseError error, JobDefinition definition)
    {
        var conf = definition.SourcePath;
        return error.Path == conf
            || error.Path == definition.OverridePath
            || error.Path == Path.ChangeExtension(conf, ".override")
            || conf.StartsWith(error.Path.TrimEnd('/') + "/", StringComparison.Ordinal);
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
