using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// The process environment stanzas at run time: env-files read at each start, stanzas this build cannot honour,
// and the hints (nice, oom score) the kernel refused.
public sealed partial class SupervisorLoop
{
    /// <summary>
    /// Reads the env-files when <paramref name="kind"/> is the first process of a start (each entry into
    /// starting runs pre-start, or else main, once), so each start, respawns included, sees the files as they are.
    /// </summary>
    private bool RefreshEnvFiles(JobInstance instance, ProcessKind kind, out string? error)
    {
        error = null;
        var definition = instance.Definition;
        if (definition.EnvFiles.Count == 0) return true;
        if (instance.EnvFilesRead && kind != ProcessKinds.FirstOfStart(definition)) return true;
        var reader = EnvFileReader(definition, out error);
        if (error is not null) return false;
        if (!EnvFile.TryRead(definition.EnvFiles, out var values, out error, reader)) return false;
        instance.EnvFileValues = values;
        instance.EnvFilesRead = true;
        instance.Environment = ComposeEnvironment(instance);
        return true;
    }

    /// <summary>
    /// The user a job's env-files are read for: its <c>setuid</c> user, who must be able to read them itself. Null
    /// (no check) for a job that runs as supd's own user; an unknown user fails the read as the spawn would.
    /// </summary>
    private static Credentials? EnvFileReader(JobDefinition definition, out string? error)
    {
        error = null;
        return definition.Setuid is null ? null : Credentials.Resolve(ProcessSettings.From(definition), out error);
    }

    /// <summary>Stanzas this build cannot honour: the job must not run less confined than it asked.</summary>
    private static string? Unsupported(JobDefinition definition) =>
        definition.ApparmorLoad is not null ? "apparmor load is not supported by supd"
        : definition.ApparmorSwitch is not null ? "apparmor switch is not supported by supd"
        : definition.Cgroups.Count > 0 ? "cgroup is not supported by supd"
        : null;

    private void RecordNotApplied(JobInstance instance, IReadOnlyList<string> notApplied)
    {
        foreach (var hint in notApplied)
        {
            if (instance.NotApplied.Contains(hint)) continue;
            instance.NotApplied.Add(hint);
            LogHintNotApplied(instance.DisplayName, hint);
        }
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "{Job}: {Hint}; running it without")]
    private partial void LogHintNotApplied(string job, string hint);
}
