using Microsoft.Extensions.Logging;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// What happens when the loop itself fails (a bug: an exception escaped a handler). Its state can no longer be
/// trusted, so it takes no more messages: every request still waiting is refused, every process it knew of gets
/// SIGTERM, and SIGKILL by process group after the longest kill timeout. The host sees <see cref="StartAsync"/>'s task
/// fault, stops, and waits for <see cref="AfterFailureAsync"/> before exiting non-zero; nothing waits forever.
/// </summary>
public sealed partial class SupervisorLoop
{
    private const string LoopFailedMessage = "supd's supervision loop failed; supd is stopping";

    private volatile bool _failed;
    private Task _afterFailure = Task.CompletedTask;

    /// <summary>True once the loop has failed: it takes no more requests.</summary>
    public bool HasFailed => _failed;

    /// <summary>Completes once the processes left when the loop failed have been killed (at once when it has not failed).</summary>
    public Task AfterFailureAsync() => _afterFailure;

    // On the loop thread, as it dies. Each step on its own: the state that broke the loop may break them too.
    private void OnLoopFailed()
    {
        _failed = true;
        _inputs.Writer.TryComplete();
        var refusal = new SupervisorException(SupervisorError.ShuttingDown, LoopFailedMessage);
        foreach (var refuse in _unanswered.Values)
        {
            try { refuse(refusal); }
            catch (Exception e) { _log.LogLoopFailureStep("refusing a waiting request", e.Message); }
        }
        _unanswered.Clear();

        var groups = new List<(int Pid, string Name)>();
        var grace = Defaults.Job.KillTimeout;
        try
        {
            foreach (var (pid, (instance, kind)) in _loop.Registry.Processes)
            {
                groups.Add((pid, $"{instance.DisplayName} {kind.Name()} process"));
                if (instance.Definition.KillTimeout > grace) grace = instance.Definition.KillTimeout;
            }
        }
        catch (Exception e)
        {
            _log.LogLoopFailureStep("listing the processes", e.Message);
        }
        foreach (var (pid, name) in groups)
        {
            _log.LogLoopFailureKill(name, pid, "SIGTERM");
            _loop.Processes.SignalGroup(pid, Signals.SIGTERM);
        }
        _afterFailure = groups.Count == 0 ? Task.CompletedTask : KillAfterAsync(groups, grace);
    }

    // By group, whether or not the leader is still there: what it left behind in its group goes too.
    private async Task KillAfterAsync(List<(int Pid, string Name)> groups, TimeSpan grace)
    {
        await Task.Delay(grace, _loop.Time).ConfigureAwait(false);
        foreach (var (pid, name) in groups)
        {
            _log.LogLoopFailureKill(name, pid, "SIGKILL");
            _loop.Processes.SignalGroup(pid, Signals.SIGKILL);
        }
    }

}
