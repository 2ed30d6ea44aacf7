using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

// supd extension `start grace SECONDS` (supervisord's startsecs). Upstart answers a start once the service is running,
// even when its main process dies a moment later. With a grace period the instance still goes to running at once
// (events and status as before), but the requests waiting on the start are answered only when a timer says the main
// process has stayed up that long; if it ends sooner, the start has failed: the job stops (even with respawn) and the
// waiters get "Job failed to start" with the process's last lines. No new state: the deadline of running.
public sealed partial class SupervisorLoop
{
    /// <summary>
    /// As a service reaches running after its post-start: true when its waiters must wait for the grace period to pass,
    /// and then a timer has been armed to answer them.
    /// </summary>
    private bool HoldForStartGrace(JobInstance instance)
    {
        if (instance.Definition.StartGrace is not { } grace || instance.Definition.Main is null || instance.MainStarted is not { } started)
            return false;
        var remaining = grace - (_time.GetUtcNow() - started);
        if (remaining <= TimeSpan.Zero) return false;
        // The deadline of running: reached with main still up, it answers the waiters (EndStartGrace).
        instance.Deadline.Arm(_time, remaining, DeadlineFor(instance));
        return true;
    }

    /// <summary>
    /// A main process that ended (goal start, state running) before its start grace was over: the start failed. Records
    /// the failure and sets the goal to stop, so no respawn follows; true when that was the case.
    /// </summary>
    private bool FailedWithinStartGrace(JobInstance instance, ExitStatus status)
    {
        if (instance.Definition.StartGrace is not { } grace || instance.MainStarted is not { } started) return false;
        var up = _time.GetUtcNow() - started;
        if (up >= grace) return false;
        FailAndStop(instance, ProcessKind.Main, status, null, FormattableString.Invariant(
            $"main process {status} after {up.TotalSeconds:0.0}s, within its start grace of {grace.TotalSeconds:0.###}s"));
        return true;
    }
}
