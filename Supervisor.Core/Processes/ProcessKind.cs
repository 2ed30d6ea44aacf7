using System.Collections.Frozen;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Core.Processes;

/// <summary>The processes of a job instance, declared in initctl's status order (spec §10), then supd's check and health.</summary>
public enum ProcessKind { Main, PreStart, PostStart, PreStop, PostStop, Check, Health }

/// <summary>What a process's exit does to its job (spec §7, "Process exits").</summary>
public enum ProcessExitRule
{
    /// <summary>main: a failure when non-zero, or any exit of a <c>respawn</c> service, unless <c>normal exit</c> lists it.</summary>
    MainRules,

    /// <summary>pre-start, post-stop: a non-zero status or a signal fails the job (goal stop).</summary>
    NonZeroFails,

    /// <summary>post-start, pre-stop: the outcome is ignored; its end only lets the lifecycle step go on.</summary>
    Ignored,

    /// <summary>check: no part of the job's life; its outcome answers the restart or reload it gates.</summary>
    AnswersRequest,

    /// <summary>health: no part of the job's life; its outcome counts towards the instance's health (HealthMonitor).</summary>
    CountsTowardsHealth,
}

/// <summary>
/// One kind of job process, described once: the parser, printer, spawn path, exit rules and status read this
/// instead of switching on <see cref="ProcessKind"/> each in its own way.
/// </summary>
/// <param name="Kind">The kind described.</param>
/// <param name="Name">Its name in status lines, failure messages, logs and events' <c>PROCESS=</c>: <c>pre-start</c>.</param>
/// <param name="Stanza">The word before <c>exec|script</c> in a job file (<c>pre-start exec …</c>); null for main,
/// whose <c>exec</c> and <c>script</c> stand alone.</param>
/// <param name="RunsIn">The lifecycle state that runs it and waits for its end; null for a process outside the
/// lifecycle (check).</param>
/// <param name="Exit">What its exit does to the job.</param>
/// <param name="SpawnFailureFails">Whether a failure to spawn it fails the job (spec §7: pre-start, main and
/// post-stop do; post-start and pre-stop outcomes are ignored; a check's answers its request).</param>
/// <param name="LabelledWhenFirst">Whether the status line names it when it is the first live process
/// (<c>, (post-start) process N</c>; initctl writes main, pre-start and post-stop as plain <c>, process N</c>).</param>
/// <param name="GetsStopEnvironment">Whether it sees the variables of the stop that runs it (pre-stop, post-stop).</param>
/// <param name="Command">How its command is chosen: the job's stanza for it (null: the job has none).</param>
/// <param name="WithCommand">The job with that stanza set (what the parser does when it reads it).</param>
public sealed record ProcessKindInfo(
    ProcessKind Kind,
    string Name,
    string? Stanza,
    JobState? RunsIn,
    ProcessExitRule Exit,
    bool SpawnFailureFails,
    bool LabelledWhenFirst,
    bool GetsStopEnvironment,
    Func<JobDefinition, ProcessCommand?> Command,
    Func<JobDefinition, ProcessCommand, JobDefinition> WithCommand)
{
    /// <summary>Part of the job's life (run by a lifecycle state, its failures are the job's); check is not.</summary>
    public bool InLifecycle => RunsIn is not null;
}

/// <summary>The table of process kinds: the one place a new kind of job process is added.</summary>
public static class ProcessKinds
{
    public static readonly ProcessKindInfo Main = new(ProcessKind.Main, "main", null, JobState.Spawned,
        ProcessExitRule.MainRules, SpawnFailureFails: true, LabelledWhenFirst: false, GetsStopEnvironment: false,
        j => j.Main, (j, c) => j with { Main = c });

    public static readonly ProcessKindInfo PreStart = new(ProcessKind.PreStart, "pre-start", "pre-start", JobState.PreStart,
        ProcessExitRule.NonZeroFails, SpawnFailureFails: true, LabelledWhenFirst: false, GetsStopEnvironment: false,
        j => j.PreStart, (j, c) => j with { PreStart = c });

    public static readonly ProcessKindInfo PostStart = new(ProcessKind.PostStart, "post-start", "post-start", JobState.PostStart,
        ProcessExitRule.Ignored, SpawnFailureFails: false, LabelledWhenFirst: true, GetsStopEnvironment: false,
        j => j.PostStart, (j, c) => j with { PostStart = c });

    public static readonly ProcessKindInfo PreStop = new(ProcessKind.PreStop, "pre-stop", "pre-stop", JobState.PreStop,
        ProcessExitRule.Ignored, SpawnFailureFails: false, LabelledWhenFirst: true, GetsStopEnvironment: true,
        j => j.PreStop, (j, c) => j with { PreStop = c });

    public static readonly ProcessKindInfo PostStop = new(ProcessKind.PostStop, "post-stop", "post-stop", JobState.PostStop,
        ProcessExitRule.NonZeroFails, SpawnFailureFails: true, LabelledWhenFirst: false, GetsStopEnvironment: true,
        j => j.PostStop, (j, c) => j with { PostStop = c });

    public static readonly ProcessKindInfo Check = new(ProcessKind.Check, "check", "check", null,
        ProcessExitRule.AnswersRequest, SpawnFailureFails: false, LabelledWhenFirst: true, GetsStopEnvironment: false,
        j => j.Check, (j, c) => j with { Check = c });

    public static readonly ProcessKindInfo Health = new(ProcessKind.Health, "health", "health", null,
        ProcessExitRule.CountsTowardsHealth, SpawnFailureFails: false, LabelledWhenFirst: true, GetsStopEnvironment: false,
        j => j.Health, (j, c) => j with { Health = c });

    /// <summary>Every kind in status order (initctl's: main, pre-start, post-start, pre-stop, post-stop; then check, health), indexed by <see cref="ProcessKind"/>.</summary>
    public static IReadOnlyList<ProcessKindInfo> All { get; } = [Main, PreStart, PostStart, PreStop, PostStop, Check, Health];

    /// <summary>The lifecycle's kinds in the order a start and stop run them: pre-start, main, post-start, pre-stop, post-stop.</summary>
    public static IReadOnlyList<ProcessKindInfo> RunOrder { get; } = [PreStart, Main, PostStart, PreStop, PostStop];

    private static readonly FrozenDictionary<string, ProcessKindInfo> ByStanza =
        All.Where(k => k.Stanza is not null).ToFrozenDictionary(k => k.Stanza!, StringComparer.Ordinal);

    public static ProcessKindInfo Of(ProcessKind kind) =>
        (uint)kind < (uint)All.Count ? All[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind));

    /// <summary>The kind whose <c>STANZA exec|script</c> this word starts (<c>pre-start</c>); false for any other word.</summary>
    public static bool TryFromStanza(string stanza, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ProcessKindInfo? info) =>
        ByStanza.TryGetValue(stanza, out info);

    /// <summary>The first process a start of this job runs (pre-start, or else main): it reads the env-files.</summary>
    public static ProcessKind FirstOfStart(JobDefinition job)
    {
        foreach (var info in RunOrder)
        {
            if (info.Command(job) is not null) return info.Kind;
        }
        return ProcessKind.Main;
    }
}

public static class ProcessKindNames
{
    /// <summary>The kind's name from <see cref="ProcessKinds"/>: <c>pre-start</c>.</summary>
    public static string Name(this ProcessKind kind) => ProcessKinds.Of(kind).Name;

    /// <summary>The kind's descriptor in <see cref="ProcessKinds"/>.</summary>
    public static ProcessKindInfo Info(this ProcessKind kind) => ProcessKinds.Of(kind);
}
