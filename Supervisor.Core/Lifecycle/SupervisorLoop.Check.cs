using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// supd's check stanza: restart and reload run it first and go ahead only when it exits 0. The check is a process of
// the job like the others (the job's environment, credentials, chroot and limits; its output also goes to the job
// log), spawned here and reported back by the reaper: the loop never waits for it. One check at a time per instance.
public sealed partial class SupervisorLoop
{
    /// <summary>How long a failed check's output may take to reach end of file (a child of it may hold the pipe).</summary>
    private static readonly TimeSpan CheckOutputWait = TimeSpan.FromSeconds(2);

    /// <summary>Starts the job's check for a restart or reload; true when the request now waits for it.</summary>
    private bool StartCheck(JobInstance instance, JobCommandInput input)
    {
        if (input.NoCheck || instance.Definition.Check is not { } command) return false;
        if (instance.Check is not null)
            throw new SupervisorException(SupervisorError.CheckRunning,
                $"{instance.DisplayName}: its check for an earlier restart or reload is still running, not {Done(input)}");
        // The env-files as they are now, which is what the restarted job will read.
        var reader = EnvFileReader(instance.Definition, out var error);
        if (error is not null || !EnvFile.TryRead(instance.Definition.EnvFiles, out var envFileValues, out error, reader))
            throw CheckFailed(instance, input, $"could not run: {error}", []);
        // Its output goes where the job's does (the log, with timestamps if asked); its last lines explain a failure.
        var output = OutputFor(instance) ?? new OutputTail(null);
        var environment = ProcessEnvironment(instance, ProcessKind.Check, envFileValues);
        if (!Spawn(instance, ProcessKind.Check, command, out error, environment, output))
            throw CheckFailed(instance, input, $"could not run: {error}", []);
        var check = new CheckRun(input, output) { Pid = instance.Pids[ProcessKind.Check] };
        instance.Check = check;
        check.Timer = _time.CreateTimer(
            _ => Post(new CheckTimerFiredInput(instance, check)), null, _options.CheckTimeout, Timeout.InfiniteTimeSpan);
        return true;
    }

    private void OnCheckExited(JobInstance instance, int pid, ExitStatus status)
    {
        if (instance.Check is not { } check || check.Pid != pid) return; // abandoned: its request was answered already
        instance.Check = null;
        check.Timer?.Dispose();
        if (status.IsSuccess && !check.TimedOut)
        {
            LogCheckPassed(instance.DisplayName, check.Request.Command == JobCommand.Reload ? "reload" : "restart");
            // Decided against the job as it is now: a stop that came meanwhile refuses the restart as usual.
            HandleJobCommand(check.Request with { NoCheck = true });
            return;
        }
        var reason = check.TimedOut ? $"timed out after {_options.CheckTimeout.TotalSeconds:0.#}s"
            : status.IsSignal ? $"killed by signal {Signals.Name(status.Signal)}"
            : $"exit {status.Code}";
        LogCheckFailed(instance.DisplayName, reason, Done(check.Request));
        var request = check.Request;
        var lines = check.Output;
        var time = _time;
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
            request.Reply.TrySetException(CheckFailed(instance, request, reason, lines.Lines()));
        });
    }

    private void OnCheckTimeout(JobInstance instance, CheckRun check)
    {
        if (!ReferenceEquals(instance.Check, check)) return;
        check.TimedOut = true;
        LogCheckTimedOut(instance.DisplayName, check.Pid, _options.CheckTimeout.TotalSeconds);
        _processes.SignalGroup(check.Pid, Signals.SIGKILL);
    }

    /// <summary>The instance is going away (or supd is): kill its check and refuse the request it gated.</summary>
    private void AbandonCheck(JobInstance instance, string why)
    {
        if (instance.Check is not { } check) return;
        instance.Check = null;
        check.Timer?.Dispose();
        _processes.SignalGroup(check.Pid, Signals.SIGKILL);
        LogCheckAbandoned(instance.DisplayName, why);
        check.Request.Reply.TrySetException(new SupervisorException(
            SupervisorError.CheckFailed, $"{instance.DisplayName}: {why}, not {Done(check.Request)}"));
    }

    /// <summary><c>nagios: check failed (exit 1), not restarted</c>, then the check's last lines, indented.</summary>
    private static SupervisorException CheckFailed(JobInstance instance, JobCommandInput input, string reason, IReadOnlyList<string> output) =>
        new(SupervisorError.CheckFailed, $"{instance.DisplayName}: check failed ({reason}), not {Done(input)}",
            output.Select(line => "  " + line).ToArray());

    private static string Done(JobCommandInput input) => input.Command == JobCommand.Reload ? "reloaded" : "restarted";

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "{Job} check passed; going ahead with the {Command}")]
    private partial void LogCheckPassed(string job, string command);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "{Job} check failed ({Reason}); not {Done}")]
    private partial void LogCheckFailed(string job, string reason, string done);

    [LoggerMessage(EventId = 422, Level = LogLevel.Warning, Message = "{Job} check process ({Pid}) still running after {Timeout}s; sending SIGKILL to its group")]
    private partial void LogCheckTimedOut(string job, int pid, double timeout);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "{Job}: {Why}; its check was killed")]
    private partial void LogCheckAbandoned(string job, string why);
}
