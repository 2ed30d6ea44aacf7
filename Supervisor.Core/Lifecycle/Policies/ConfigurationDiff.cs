using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>What reload-configuration does to the loaded jobs, decided before anything is touched.</summary>
/// <param name="Revived">Jobs removed earlier whose instances were still stopping, back on disk: jobs again.</param>
/// <param name="Redefined">New definitions of jobs whose file text changed (instances take them at their next start).</param>
/// <param name="Removed">Jobs gone from disk (and not merely rejected): stopped, and forgotten once their last instance is gone.</param>
/// <param name="Added">Jobs new on disk.</param>
internal sealed record ConfigurationPlan(
    IReadOnlyList<string> Revived, IReadOnlyList<JobDefinition> Redefined, IReadOnlyList<string> Changed,
    IReadOnlyList<string> Removed, IReadOnlyList<JobDefinition> Added)
{
    /// <summary>What the caller is told: revived and new jobs count as added.</summary>
    public ConfigurationChanges Changes(IReadOnlyList<ParseError> errors) => new(
        Revived.Concat(Added.Select(d => d.Name)).Order(StringComparer.Ordinal).ToList(), Changed, Removed, errors);
}

/// <summary>
/// The configuration diff as a pure function: the jobs loaded now (each with whether it was removed and is still
/// stopping) against the job directories as read again. A file that changed is told by its text
/// (<see cref="JobDefinition.SourceText"/>); a job whose file was rejected keeps its previous good definition.
/// </summary>
internal static class ConfigurationDiff
{
    public static ConfigurationPlan Plan(IEnumerable<(JobDefinition Definition, bool Removed)> loaded, JobLoadResult fromDisk)
    {
        List<string> revived = [], changed = [], removed = [];
        List<JobDefinition> redefined = [];
        var incoming = fromDisk.Jobs.ToDictionary(j => j.Name, StringComparer.Ordinal);
        foreach (var (current, wasRemoved) in loaded)
        {
            if (incoming.Remove(current.Name, out var definition))
            {
                if (wasRemoved) revived.Add(current.Name);
                if (definition.SourceText == current.SourceText) continue;
                if (!wasRemoved) changed.Add(current.Name);
                redefined.Add(definition);
                continue;
            }
            if (wasRemoved || fromDisk.Errors.Any(e => RejectedFile(e, current))) continue;
            removed.Add(current.Name);
        }
        return new ConfigurationPlan(revived, redefined, changed, removed, incoming.Values.ToList());
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
}
