using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// What the process environment stanzas keep per instance: the env-file values of the current start, and the hints
// (nice, oom score) the kernel refused. Kept beside the instance rather than in it, as a side table.
public sealed partial class SupervisorLoop
{
    private sealed class InstanceProcessState
    {
        public List<KeyValuePair<string, string>> EnvFileValues { get; set; } = [];
        public bool EnvFilesRead { get; set; }
        public List<string> NotApplied { get; } = [];
    }

    private readonly ConditionalWeakTable<JobInstance, InstanceProcessState> _processState = new();

    private InstanceProcessState ProcessStateOf(JobInstance instance) => _processState.GetOrCreateValue(instance);

    /// <summary>Hints not applied to this instance's processes (<c>oom score -1000: Permission denied</c>).</summary>
    private IReadOnlyList<string> NotAppliedOf(JobInstance instance) =>
        _processState.TryGetValue(instance, out var state) ? state.NotApplied.ToArray() : [];

    private static readonly ProcessKind[] CycleOrder =
        [ProcessKind.PreStart, ProcessKind.Main, ProcessKind.PostStart, ProcessKind.PreStop, ProcessKind.PostStop];

    /// <summary>
    /// Reads the env-files when <paramref name="kind"/> is the first process of a start (each entry into
    /// starting runs pre-start, or else main, once), so each start, respawns included, sees the files as they are.
    /// </summary>
    private bool RefreshEnvFiles(JobInstance instance, ProcessKind kind, out string? error)
    {
        error = null;
        var definition = instance.Definition;
        var state = ProcessStateOf(instance);
        if (definition.EnvFiles.Count == 0) return true;
        var first = CycleOrder.FirstOrDefault(k => CommandOf(definition, k) is not null, ProcessKind.Main);
        if (state.EnvFilesRead && kind != first) return true;
        if (!EnvFile.TryRead(definition.EnvFiles, out var values, out error)) return false;
        state.EnvFileValues = values;
        state.EnvFilesRead = true;
        return true;
    }

    private static ProcessCommand? CommandOf(JobDefinition definition, ProcessKind kind) => kind switch
    {
        ProcessKind.PreStart => definition.PreStart,
        ProcessKind.Main => definition.Main,
        ProcessKind.PostStart => definition.PostStart,
        ProcessKind.PreStop => definition.PreStop,
        ProcessKind.PostStop => definition.PostStop,
        ProcessKind.Check => definition.Check,
        _ => null,
    };

    /// <summary>Stanzas this build cannot honour: the job must not run less confined than it asked.</summary>
    private static string? Unsupported(JobDefinition definition) =>
        definition.ApparmorLoad is not null ? "apparmor load is not supported by supd"
        : definition.ApparmorSwitch is not null ? "apparmor switch is not supported by supd"
        : definition.Cgroups.Count > 0 ? "cgroup is not supported by supd"
        : null;

    private void RecordNotApplied(JobInstance instance, IReadOnlyList<string> notApplied)
    {
        if (notApplied.Count == 0) return;
        var state = ProcessStateOf(instance);
        foreach (var hint in notApplied)
        {
            if (state.NotApplied.Contains(hint)) continue;
            state.NotApplied.Add(hint);
            LogHintNotApplied(instance.DisplayName, hint);
        }
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "{Job}: {Hint}; running it without")]
    private partial void LogHintNotApplied(string job, string hint);
}
