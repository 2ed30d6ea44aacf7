using System.Globalization;

namespace Supervisor.Core.State;

/// <summary>
/// goals.json is input like any other: a hand edit, a disk fault or a bug can leave nulls, empty names or process
/// numbers that must never be signalled. Every part is checked before any of it is used; the first problem makes
/// <see cref="GoalStore.Load"/> set the whole file aside (a half-trusted state file is worse than none).
/// </summary>
public static class GoalStateValidation
{
    /// <summary>The first problem in <paramref name="state"/>, or null when every part is valid.</summary>
    public static string? Problem(GoalState? state)
    {
        if (state is null) return "is empty (null)";
        if (!GoalState.IsKnownVersion(state.Version))
            return $"has an unknown version ({state.Version.ToString(CultureInfo.InvariantCulture)})";
        // Non-nullable in C#, but JSON null (or a missing list written as null) deserializes as null all the same.
        if (state.BootId is null) return "has no bootId";
        if (state.StoppedByHand is null || state.StartedByHand is null || state.Processes is null)
            return "lacks one of stoppedByHand, startedByHand, processes";
        // disabled came with version 2: missing (null) in a version 1 file, which GoalStore reads as none.
        if (state.Disabled is null && state.Version >= 2) return "lacks disabled";
        var disabledJobs = state.Disabled ?? [];
        if (disabledJobs.Count > Limits.MaxGoalsEntries) return $"has too many disabled entries ({disabledJobs.Count} > {Limits.MaxGoalsEntries})";
        for (var i = 0; i < disabledJobs.Count; i++)
        {
            var disabled = disabledJobs[i];
            if (disabled is null || string.IsNullOrEmpty(disabled.Job) || disabled.Job.Length > Limits.MaxNameBytes
                || disabled.By is null || disabled.By.Length > Limits.MaxNameBytes)
                return $"disabled[{i}]: no valid job name or author";
        }
        foreach (var (list, name) in new[] { (state.StoppedByHand, "stoppedByHand"), (state.StartedByHand, "startedByHand") })
        {
            if (list.Count > Limits.MaxGoalsEntries) return $"has too many {name} entries ({list.Count} > {Limits.MaxGoalsEntries})";
            for (var i = 0; i < list.Count; i++)
            {
                if (InstanceProblem(list[i]) is { } problem) return $"{name}[{i}]: {problem}";
            }
        }
        if (state.Processes.Count > Limits.MaxGoalsEntries) return $"has too many processes ({state.Processes.Count} > {Limits.MaxGoalsEntries})";
        for (var i = 0; i < state.Processes.Count; i++)
        {
            if (ProcessProblem(state.Processes[i]) is { } problem) return $"processes[{i}]: {problem}";
        }
        // The survivors are checked as a handover state is (their boot is compared when they are adopted).
        if (state.Survivors is { } survivors && Handover.HandoverFile.Check(survivors, survivors.BootId ?? "", recorded: true) is { } bad)
            return $"survivors: {bad}";
        return null;
    }

    private static string? InstanceProblem(InstanceGoal? goal)
    {
        if (goal is null) return "null";
        if (string.IsNullOrEmpty(goal.Job) || goal.Job.Length > Limits.MaxNameBytes) return "no valid job name";
        if (goal.Instance is null || goal.Instance.Length > Limits.MaxNameBytes) return "no valid instance name";
        if (goal.Variables is null) return "variables is null";
        if (goal.By is { Length: > Limits.MaxNameBytes }) return "author too long";
        if (goal.Variables.Count > Limits.MaxRequestVariables) return $"too many variables ({goal.Variables.Count} > {Limits.MaxRequestVariables})";
        foreach (var variable in goal.Variables)
        {
            if (variable is null || variable.IndexOf('=', StringComparison.Ordinal) <= 0 || variable.Length > Limits.MaxVariableBytes
                || variable.Contains('\0', StringComparison.Ordinal))
                return "a variable that is not KEY=VALUE";
        }
        return null;
    }

    private static string? ProcessProblem(ProcessRecord? process)
    {
        if (process is null) return "null";
        if (string.IsNullOrEmpty(process.Job) || process.Instance is null || string.IsNullOrEmpty(process.Process)) return "no job, instance or process name";
        // 0 and 1 would be supd's own process group and init (kill(-1) is every process): never a job's.
        if (process.Pid <= 1) return $"pid {process.Pid.ToString(CultureInfo.InvariantCulture)} is not a job's";
        if (process.ProcessGroup <= 1) return $"process group {process.ProcessGroup.ToString(CultureInfo.InvariantCulture)} is not a job's";
        if (process.StartTime == 0) return "no start time";
        if (process.KillTimeoutMs is < 0 or > 24L * 3600 * 1000) return "kill timeout out of range";
        return null;
    }
}
