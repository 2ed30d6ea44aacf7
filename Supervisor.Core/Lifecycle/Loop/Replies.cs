using Supervisor.Core.Logs;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Answers the requests that wait on an instance (start, stop, restart with wait) or an event (emit with wait), and
/// explains a failure with the failed processes' last lines: "Job failed to start", then
/// "  nagios: pre-start process exited with status 3" and what that process wrote.
/// </summary>
internal sealed class Replies(LoopContext loop)
{
    /// <summary>Completes the requests waiting on this instance, now at a rest state.</summary>
    public void FinishWaiters(JobInstance instance)
    {
        if (instance.Waiters.Count == 0) return;
        var waiters = instance.Waiters.ToArray();
        instance.Waiters.Clear();
        var snapshot = instance.State == JobState.Waiting ? loop.Status.Class(instance.Class) : loop.Status.Instance(instance);
        foreach (var waiter in waiters)
        {
            if (instance.Failed && instance.State == JobState.Waiting)
            {
                var stopping = waiter.Goal == JobGoal.Stop;
                if (!stopping || instance.Failure?.Process is "pre-stop" or "post-stop")
                {
                    RejectExplained(waiter.Reply,
                        stopping ? SupervisorError.JobFailedWhileStopping : SupervisorError.JobFailedToStart,
                        stopping ? "Job failed while stopping" : waiter.Restart ? "Job failed to restart" : "Job failed to start",
                        [Explain(instance)]);
                    continue;
                }
            }
            waiter.Reply.TrySetResult(snapshot);
        }
    }

    public static FailureExplanation Explain(JobInstance instance) =>
        new(instance.DisplayName, instance.Failure?.Reason ?? "failed", instance.Failure?.Output);

    public void RejectExplained<T>(TaskCompletionSource<T> reply, SupervisorError error, string message, IReadOnlyList<FailureExplanation> why) =>
        Explained(error, message, why, e => reply.TrySetException(e));

    public void RejectExplained(TaskCompletionSource reply, SupervisorError error, string message, IReadOnlyList<FailureExplanation> why) =>
        Explained(error, message, why, e => reply.TrySetException(e));

    /// <summary>
    /// Rejects once the failed processes' pipes have reached end of file (their last lines are all in), bounded by
    /// <see cref="SupervisorOptions.FailureOutputGrace"/>. The wait runs off the loop thread; the tails are thread-safe.
    /// </summary>
    private void Explained(SupervisorError error, string message, IReadOnlyList<FailureExplanation> why, Action<SupervisorException> reject)
    {
        SupervisorException Compose() => new(error, message, why.SelectMany(w => w.Lines()).ToArray());

        var pending = why.Select(w => w.Output?.Completion).OfType<Task>().Where(t => !t.IsCompleted).ToArray();
        if (pending.Length == 0)
        {
            reject(Compose());
            return;
        }
        Task.WhenAll(pending).WaitAsync(loop.Options.FailureOutputGrace, loop.Time)
            .ContinueWith(_ => reject(Compose()), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}

/// <summary>One job's part in a failed request: which job, why (one line), and what the failed process wrote.</summary>
internal sealed record FailureExplanation(string Job, string Reason, OutputTail? Output)
{
    /// <summary>"  nagios: pre-start process exited with status 3", then the process's last lines, indented.</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"  {Job}: {Reason}";
        if (Output is null) yield break;
        foreach (var line in Output.Lines()) yield return "    " + line;
    }
}
