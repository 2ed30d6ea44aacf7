using Supervisor.Core.Language;
using Supervisor.Core.Logs;

namespace Supervisor.Core.Lifecycle;

// Where each process's output goes, and failures that explain themselves with it: "Job failed to start", then
// "  nagios: pre-start process exited with status 3" and the last lines that process wrote.
public sealed partial class SupervisorLoop
{
    /// <summary>
    /// The sink of one process: the job's log (through a per-process writer that knows its line starts) wrapped in an
    /// <see cref="OutputTail"/> that keeps the process's last lines. Null when the job's console is not <c>log</c>.
    /// </summary>
    private OutputTail? OutputFor(JobInstance instance)
    {
        var definition = instance.Definition;
        if (definition.Console is not ConsoleMode.Log) return null;
        var writer = instance.Log is { } log && _logs is not null
            ? _logs.Writer(log, instance.Class.Name, instance.Name, definition.LogTimestamps)
            : null;
        return new OutputTail(writer);
    }

    private static FailureExplanation Explain(JobInstance instance) =>
        new(instance.DisplayName, instance.Failure?.Reason ?? "failed", instance.Failure?.Output);

    private void RejectExplained<T>(TaskCompletionSource<T> reply, SupervisorError error, string message, IReadOnlyList<FailureExplanation> why) =>
        Explained(error, message, why, e => reply.TrySetException(e));

    private void RejectExplained(TaskCompletionSource reply, SupervisorError error, string message, IReadOnlyList<FailureExplanation> why) =>
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
        Task.WhenAll(pending).WaitAsync(_options.FailureOutputGrace, _time)
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
