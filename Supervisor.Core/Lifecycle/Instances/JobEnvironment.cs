using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// The environment of a job and of each of its processes (spec §4): supd's defaults (PATH, TERM, the configured job
/// environment), the job's <c>env</c> stanzas, its env-files' values, then the start variables; a process adds
/// UPSTART_JOB, UPSTART_INSTANCE, its tag and (pre-stop, post-stop) the stop variables.
/// </summary>
internal sealed class JobEnvironment(SupervisorOptions options)
{
    /// <summary>Steps 1 and 2 of spec §4: PATH and TERM, then the job's env stanzas in file order.</summary>
    public EnvironmentList ForClass(JobDefinition definition)
    {
        var environment = new EnvironmentList();
        environment.Set("PATH", options.DefaultPath);
        environment.Set("TERM", options.DefaultTerm);
        foreach (var (key, value) in options.JobEnvironment) environment.Set(key, value);
        foreach (var entry in definition.Env)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                environment.Set(entry[..eq], entry[(eq + 1)..]);
            }
            else if (options.DaemonEnvironment(entry) is { } inherited)
            {
                environment.Set(entry, inherited);
            }
        }
        return environment;
    }

    /// <summary>The class environment with a request's variables after it (what names an instance).</summary>
    public EnvironmentList ForRequest(JobDefinition definition, IEnumerable<string> variables)
    {
        var environment = ForClass(definition);
        environment.AddRange(variables);
        return environment;
    }

    /// <summary>Spec §4 with env-files: <c>env</c> stanzas, then env-file values, then the start variables.</summary>
    /// <param name="envFileValues">Env-file values to use instead of those the instance read at its start (a check reads them afresh).</param>
    public EnvironmentList ForInstance(JobInstance instance, IReadOnlyList<KeyValuePair<string, string>>? envFileValues = null)
    {
        var environment = ForClass(instance.Definition);
        var fromFiles = envFileValues ?? instance.EnvFileValues;
        foreach (var (key, value) in fromFiles) environment.Set(key, value);
        if (!instance.StartVariables.HasUntrusted)
        {
            environment.AddRange(instance.StartVariables);
            return environment;
        }
        // A caller without admin never overrides what the job's own env-files set (access-control.md, Variables).
        HashSet<string>? setByFiles = null;
        foreach (var (key, value) in instance.StartVariables.Entries)
        {
            if (!instance.StartVariables.IsUntrusted(key))
            {
                environment.Set(key, value);
                continue;
            }
            setByFiles ??= fromFiles.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
            if (!setByFiles.Contains(key)) environment.SetUntrusted(key, value);
        }
        return environment;
    }

    /// <summary>The environment of one job process: the instance's, then UPSTART_JOB, UPSTART_INSTANCE and the rest.</summary>
    public EnvironmentList ForProcess(JobInstance instance, ProcessKind kind, IReadOnlyList<KeyValuePair<string, string>>? envFileValues = null)
    {
        var environment = ForInstance(instance, envFileValues);
        environment.Set("UPSTART_JOB", instance.Class.Name);
        environment.Set("UPSTART_INSTANCE", instance.Name);
        // The tag finds the main process's daemon after it forks (expect fork/daemon); only main carries it.
        if (kind == ProcessKind.Main) environment.Set("SUPD_TAG", instance.Tag);
        if (kind.Info().GetsStopEnvironment) environment.AddRange(instance.StopEnvironment);
        return environment;
    }

    /// <summary>Names of the variables the daemon sets in every job (a caller without admin may not override them).</summary>
    public IEnumerable<string> Configured => options.JobEnvironment.Select(e => e.Key);
}
