using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;
using Supervisor.Core.Processes;

namespace Supervisor.Core.State;

/// <summary>
/// At start-up, before any job starts: the processes a previous supd recorded and that still run. A supd that was
/// SIGKILLed leaves its jobs behind with their stdout/stderr pipes' read ends gone, so adopting them is pointless
/// (their next write gets SIGPIPE): each surviving recorded process group gets TERM, then KILL after the job's kill
/// timeout. A process counts as survivor only while its pid still has the recorded start time (in the same boot),
/// so a reused pid is never signalled.
/// </summary>
public static partial class LeftoverProcesses
{
    public static async Task<int> KillAsync(GoalState state, string bootId, ILogger log, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        if (state.Processes.Count == 0) return 0;
        if (state.BootId.Length == 0 || state.BootId != bootId)
        {
            LogOtherBoot(log, state.Processes.Count);
            return 0;
        }
        var survivors = state.Processes.Where(p => p.Pid > 1 && p.ProcessGroup > 1 && ProcStat.IsAlive(p.Pid, p.StartTime)).ToList();
        foreach (var p in state.Processes.Except(survivors)) LogGone(log, Name(p), p.Process, p.Pid);
        if (survivors.Count == 0) return 0;

        foreach (var p in survivors)
        {
            LogTerminating(log, Name(p), p.Process, p.Pid, p.ProcessGroup);
            Signal(p, Signals.SIGTERM);
        }
        var started = time.GetTimestamp();
        var pending = survivors.ToList();
        while (pending.Count > 0)
        {
            pending.RemoveAll(p => !ProcStat.IsAlive(p.Pid, p.StartTime));
            if (pending.Count == 0) break;
            var elapsed = time.GetElapsedTime(started);
            foreach (var p in pending.Where(p => elapsed >= TimeSpan.FromMilliseconds(p.KillTimeoutMs)).ToList())
            {
                LogKilling(log, Name(p), p.Process, p.Pid, p.KillTimeoutMs / 1000.0);
                Signal(p, Signals.SIGKILL);
                pending.Remove(p);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time).ConfigureAwait(false);
        }
        // What else was left in those groups goes too, as when supd reaps a main process itself.
        foreach (var p in survivors) _ = Libc.Kill(-p.ProcessGroup, Signals.SIGKILL);
        return survivors.Count;
    }

    private static string Name(ProcessRecord p) => p.Instance.Length == 0 ? p.Job : $"{p.Job} ({p.Instance})";

    private static void Signal(ProcessRecord p, int signal)
    {
        if (p.ProcessGroup > 1 && Libc.Kill(-p.ProcessGroup, signal) == 0) return;
        _ = Libc.Kill(p.Pid, signal);
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "State file lists {Count} processes of an earlier boot; none can still run")]
    private static partial void LogOtherBoot(ILogger log, int count);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Left by the previous supd: {Job} {Process} process {Pid} is gone")]
    private static partial void LogGone(ILogger log, string job, string process, int pid);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Left by the previous supd: {Job} {Process} process {Pid} still runs; its output pipe is gone, sending SIGTERM to process group {Group}")]
    private static partial void LogTerminating(ILogger log, string job, string process, int pid, int group);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "Left by the previous supd: {Job} {Process} process {Pid} still runs {Timeout}s after SIGTERM; sending SIGKILL to its group")]
    private static partial void LogKilling(ILogger log, string job, string process, int pid, double timeout);
}
