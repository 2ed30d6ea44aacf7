using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// How one process of a job comes to run: the stanzas this build cannot honour refused, the env-files read at each
/// start, the command resolved, the request to <see cref="IProcessControl"/> made, and the outcome recorded on the
/// instance (its pid, its output's tail, the hints the kernel refused). A failure is the job's, never the loop's: it
/// comes back as an error line, recorded as the instance's last exit.
///
/// A spawn through the exec helper succeeds here with the report still to come (<see cref="JobInstance.ReportsPending"/>):
/// the pid is recorded like any other, and <see cref="Reported"/> settles it when the reaper has read the report, as an
/// input of its own; the loop never waits for a helper.
/// </summary>
internal sealed class SpawnPath(LoopContext loop, JobEnvironment environments)
{
    /// <param name="environment">The process's environment; null composes it from the instance (a check brings its own).</param>
    /// <param name="output">Where its output goes; null: the job's log (console log) or what console says.</param>
    public bool Spawn(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error,
        EnvironmentList? environment = null, IOutputSink? output = null) =>
        Spawn(instance, kind, command, out error, out _, environment, output);

    /// <param name="transient">The spawn failed for want of fds, processes or memory (worth trying again).</param>
    public bool Spawn(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error, out bool transient,
        EnvironmentList? environment = null, IOutputSink? output = null)
    {
        transient = false;
        try
        {
            return SpawnUnguarded(instance, kind, command, out error, out transient, environment, output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or FormatException
            or OverflowException or OutOfMemoryException or System.ComponentModel.Win32Exception or InvalidDataException)
        {
            // One job's own input (its files, env-files, user, command) must fail that job, never the loop.
            error = $"unable to start: {e.Message}";
            return Failed(instance, kind, error);
        }
    }

    private bool SpawnUnguarded(JobInstance instance, ProcessKind kind, ProcessCommand command, out string? error, out bool transient,
        EnvironmentList? environment, IOutputSink? output)
    {
        transient = false;
        var definition = instance.Definition;
        error = Unsupported(definition);
        if (error is null && environment is null) RefreshEnvFiles(instance, kind, out error);
        if (error is not null) return Failed(instance, kind, error);
        environment ??= environments.ForProcess(instance, kind);
        var description = $"{instance.DisplayName} {kind.Name()} process";
        if (!CommandLine.TryResolve(command, environment.Get("PATH"), out var file, out var argv, out error, definition.Chroot))
            return Failed(instance, kind, error!);
        output ??= OutputFor(instance);
        var request = new SpawnRequest(
            description, file, argv, environment.ToStrings(),
            definition.Chdir ?? loop.Options.DefaultWorkingDirectory,
            output,
            ProcessSettings.From(definition),
            new Processes.Containment.ContainmentUnit(instance.Tag, instance.DisplayName, Processes.Containment.CgroupSettings.From(definition)),
            ErrorOutput: (output as OutputTail)?.Errors,
            // The main process's pipes outlive supd (the pipe keeper), so the next supd can adopt it with its output.
            KeepOutput: kind == ProcessKind.Main);
        if (kind == ProcessKind.Main) instance.MainSpawnedAfter = loop.Processes.ClockTicksSinceBoot();
        var result = loop.Processes.Spawn(request);
        if (!result.Succeeded)
        {
            error = result.Error;
            transient = result.Transient;
            return Failed(instance, kind, error!);
        }
        RecordNotApplied(instance, result.NotApplied);
        if (result.ReportPending) instance.ReportsPending.Add(kind);
        if (request.Output is OutputTail tail) instance.Outputs[kind] = tail;
        instance.Pids[kind] = result.Pid;
        loop.Registry.Processes[result.Pid] = (instance, kind);
        if (kind == ProcessKind.Main)
        {
            // Through the helper, the program starts when the report says so (and a failed one never started).
            if (!result.ReportPending) instance.MainStarted = loop.Time.GetUtcNow();
            instance.MainProcessGroup = result.Pid;
            instance.AdoptedAt = null;
        }
        loop.Log.LogSpawned(instance.DisplayName, kind.Name(), result.Pid);
        return true;
    }

    /// <summary>
    /// The exec helper of one of the instance's processes reported: its hints recorded, and on failure the process
    /// forgotten (the helper's exit is never reported) and the failure recorded as a spawn failure would have been.
    /// Returns the instance and kind, or null for a report nobody waits for.
    /// </summary>
    public (JobInstance Instance, ProcessKind Kind)? Reported(SpawnReport report)
    {
        if (!loop.Registry.Processes.TryGetValue(report.Pid, out var owner)) return null;
        var (instance, kind) = owner;
        if (!instance.ReportsPending.Remove(kind)) return null;
        RecordNotApplied(instance, report.NotApplied);
        if (report.Succeeded)
        {
            if (kind == ProcessKind.Main) instance.MainStarted = loop.Time.GetUtcNow();
            return owner;
        }
        loop.Registry.Processes.Remove(report.Pid);
        instance.Pids.Remove(kind);
        instance.Outputs.Remove(kind);
        if (kind == ProcessKind.Main) instance.MainProcessGroup = 0;
        Failed(instance, kind, report.Error!);
        return owner;
    }

    private bool Failed(JobInstance instance, ProcessKind kind, string error)
    {
        loop.Log.LogSpawnFailed(instance.DisplayName, kind.Name(), error);
        RecordExit(instance, kind, 0, null, error);
        return false;
    }

    /// <summary>The instance's last exit (shown by status): a process of its life ended, or could not be spawned.</summary>
    public void RecordExit(JobInstance instance, ProcessKind kind, int pid, ExitStatus? status, string? spawnError)
    {
        // A check is not part of the job's life: its outcome goes to the restart or reload it gates.
        if (!kind.Info().InLifecycle) return;
        instance.LastExit = new ProcessExitRecord(kind, pid, status, spawnError, loop.Time.GetUtcNow());
    }

    /// <summary>
    /// The sink of one process: the job's log (through a per-process writer that knows its line starts) wrapped in an
    /// <see cref="OutputTail"/> that keeps the process's last lines; with a second one for stderr when its lines go to
    /// journald at their own priority (<see cref="JobLogDirectory.SplitsErrorStream"/>). Null when the job's console
    /// is not <c>log</c>.
    /// </summary>
    public OutputTail? OutputFor(JobInstance instance)
    {
        var definition = instance.Definition;
        if (definition.Console is not ConsoleMode.Log) return null;
        if (instance.Log is not { } log || loop.Logs is not { } logs) return new OutputTail(null);
        var writer = logs.Writer(log, instance.Class.Name, instance.Name, definition.LogTimestamps);
        if (!logs.SplitsErrorStream) return new OutputTail(writer);
        return new OutputTail(writer)
        {
            Errors = new OutputTail(logs.Writer(log, instance.Class.Name, instance.Name, definition.LogTimestamps, errorStream: true)),
        };
    }

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
        instance.Environment = environments.ForInstance(instance);
        return true;
    }

    /// <summary>
    /// The user a job's env-files are read for: its <c>setuid</c> user, who must be able to read them itself. Null
    /// (no check) for a job that runs as supd's own user; an unknown user fails the read as the spawn would.
    /// </summary>
    public static Credentials? EnvFileReader(JobDefinition definition, out string? error)
    {
        error = null;
        return definition.Setuid is null ? null : Credentials.Resolve(ProcessSettings.From(definition), out error);
    }

    /// <summary>Stanzas this build cannot honour: the job must not run less confined than it asked.</summary>
    private static string? Unsupported(JobDefinition definition) =>
        definition.ApparmorLoad is not null ? "apparmor load is not supported by supd"
        : definition.ApparmorSwitch is not null ? "apparmor switch is not supported by supd"
        : null;

    // Hints (nice, oom score) the kernel refused: said once per instance, and shown by status.
    private void RecordNotApplied(JobInstance instance, IReadOnlyList<string> notApplied)
    {
        foreach (var hint in notApplied)
        {
            if (instance.NotApplied.Contains(hint)) continue;
            instance.NotApplied.Add(hint);
            loop.Log.LogHintNotApplied(instance.DisplayName, hint);
        }
    }
}
