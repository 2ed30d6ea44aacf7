using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// supd's <c>check</c> stanza: restart and reload run it first and go ahead only when it exits 0. The check is a
/// process of the job like the others (the job's environment, credentials, chroot and limits; its output also goes to
/// the job log), spawned here and reported back by the reaper: the loop never waits for it. One check at a time per
/// instance; its timeout is a timer of its own, since a check runs beside the states (a restart's check during a start
/// grace). A check that passed hands its request back to <paramref name="goAhead"/> (the request handling), on the
/// loop, decided against the job as it is then.
/// </summary>
internal sealed class CheckGate(LoopContext loop, SpawnPath spawner, JobEnvironment environments, Action<JobCommandInput> goAhead)
{
    /// <summary>How long a failed check's output may take to reach end of file (a child of it may hold the pipe).</summary>
    private static readonly TimeSpan CheckOutputWait = TimeSpan.FromSeconds(2);

    /// <summary>Starts the job's check for a restart or reload; true when the request now waits for it.</summary>
    public bool Start(JobInstance instance, JobCommandInput input)
    {
        if (input.NoCheck || instance.Definition.Check is not { } command) return false;
        if (instance.Check is not null)
            throw new SupervisorException(SupervisorError.CheckRunning,
                $"{instance.DisplayName}: its check for an earlier restart or reload is still running, not {Done(input)}");
        // The env-files as they are now, which is what the restarted job will read.
        var reader = SpawnPath.EnvFileReader(instance.Definition, out var error);
        if (error is not null || !EnvFile.TryRead(instance.Definition.EnvFiles, out var envFileValues, out error, reader))
            throw Failed(instance, input, $"could not run: {error}", []);
        // Its output goes where the job's does (the log, with timestamps if asked); its last lines explain a failure.
        var output = spawner.OutputFor(instance) ?? new OutputTail(null);
        var environment = environments.ForProcess(instance, ProcessKind.Check, envFileValues);
        if (!spawner.Spawn(instance, ProcessKind.Check, command, out error, environment, output))
            throw Failed(instance, input, $"could not run: {error}", []);
        var check = new CheckRun(input, output) { Pid = instance.Pids[ProcessKind.Check] };
        instance.Check = check;
        check.Timer = loop.Time.CreateTimer(
            _ => loop.Post(new CheckTimerFiredInput(instance, check)), null, loop.Options.CheckTimeout, Timeout.InfiniteTimeSpan);
        return true;
    }

    public void OnExited(JobInstance instance, int pid, ExitStatus status)
    {
        if (instance.Check is not { } check || check.Pid != pid) return; // abandoned: its request was answered already
        instance.Check = null;
        check.Timer?.Dispose();
        if (status.IsSuccess && !check.TimedOut)
        {
            loop.Log.LogCheckPassed(instance.DisplayName, check.Request.Command == JobCommand.Reload ? "reload" : "restart");
            // Decided against the job as it is now: a stop that came meanwhile refuses the restart as usual.
            goAhead(check.Request with { NoCheck = true });
            return;
        }
        var reason = check.TimedOut ? $"timed out after {loop.Options.CheckTimeout.TotalSeconds:0.#}s"
            : status.IsSignal ? $"killed by signal {Signals.Name(status.Signal)}"
            : $"exit {status.Code}";
        loop.Log.LogCheckFailed(instance.DisplayName, reason, Done(check.Request));
        var request = check.Request;
        var lines = check.Output;
        var time = loop.Time;
        // The output's last lines are complete once its pipe reaches end of file: wait for that off the loop.
        _ = Task.Run(async () =>
        {
            try
            {
                await lines.Completion.WaitAsync(CheckOutputWait, time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            request.Reply.TrySetException(Failed(instance, request, reason, lines.Lines()));
        });
    }

    /// <summary>The check's exec helper failed: the request is refused as when the check cannot be spawned at all.</summary>
    public void OnSpawnFailed(JobInstance instance, int pid, string error)
    {
        if (instance.Check is not { } check || check.Pid != pid) return;
        instance.Check = null;
        check.Timer?.Dispose();
        check.Request.Reply.TrySetException(Failed(instance, check.Request, $"could not run: {error}", []));
    }

    public void OnTimeout(JobInstance instance, CheckRun check)
    {
        if (!ReferenceEquals(instance.Check, check)) return;
        check.TimedOut = true;
        loop.Log.LogCheckTimedOut(instance.DisplayName, check.Pid, loop.Options.CheckTimeout.TotalSeconds);
        loop.Processes.SignalGroup(check.Pid, Signals.SIGKILL);
    }

    /// <summary>The instance is going away (or supd is): kill its check and refuse the request it gated.</summary>
    public void Abandon(JobInstance instance, string why)
    {
        if (instance.Check is not { } check) return;
        instance.Check = null;
        check.Timer?.Dispose();
        loop.Processes.SignalGroup(check.Pid, Signals.SIGKILL);
        loop.Log.LogCheckAbandoned(instance.DisplayName, why);
        check.Request.Reply.TrySetException(new SupervisorException(
            SupervisorError.CheckFailed, $"{instance.DisplayName}: {why}, not {Done(check.Request)}"));
    }

    /// <summary><c>nagios: check failed (exit 1), not restarted</c>, then the check's last lines, indented.</summary>
    private static SupervisorException Failed(JobInstance instance, JobCommandInput input, string reason, IReadOnlyList<string> output) =>
        new(SupervisorError.CheckFailed, $"{instance.DisplayName}: check failed ({reason}), not {Done(input)}",
            output.Select(line => "  " + line).ToArray());

    private static string Done(JobCommandInput input) => input.Command == JobCommand.Reload ? "reloaded" : "restarted";
}
