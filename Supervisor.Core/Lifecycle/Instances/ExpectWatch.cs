using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// <c>expect stop|fork|daemon</c> on an instance (the overview is <see cref="ExpectFollower"/>'s): spawned rests, its
/// deadline the next poll, until the follower's verdict; this applies the verdict to the instance (the adopted daemon
/// becomes the main process, a mismatch is noted for status) and tells the lifecycle whether the start failed.
/// </summary>
internal sealed class ExpectWatch(LoopContext loop)
{
    private readonly ExpectFollower _follower = new(loop.Processes, loop.Time, loop.Options);

    /// <summary>The main process was spawned: the wait begins, polled every <see cref="SupervisorOptions.ExpectPollInterval"/>.</summary>
    public void Start(JobInstance instance)
    {
        instance.Expect = new ExpectWait { Started = loop.Time.GetTimestamp(), FirstSession = instance.MainPid };
        instance.Deadline.Arm(loop.Time, loop.Options.ExpectPollInterval, loop.DeadlineFor(instance), loop.Options.ExpectPollInterval);
    }

    /// <summary>One look at the process; null while the wait goes on, else the verdict, applied.</summary>
    public ExpectOutcome? Poll(JobInstance instance)
    {
        var expect = instance.Definition.Expect;
        var wait = instance.Expect ??= new ExpectWait { Started = loop.Time.GetTimestamp() };
        var result = _follower.Poll(expect, wait, instance.MainPid, instance.Tag, instance.MainSpawnedAfter);
        switch (result.Verdict)
        {
            case ExpectVerdict.Waiting:
                return null;
            case ExpectVerdict.Satisfied when expect == ExpectMode.Stop:
                loop.Log.LogExpectSatisfied(instance.DisplayName, ExpectFollower.Name(expect), instance.MainPid);
                return ExpectOutcome.MovesOn;
            case ExpectVerdict.Satisfied:
                // The daemon, adopted: it is the main process from now on, signalled through its own group.
                instance.Pids[ProcessKind.Main] = result.Pid;
                loop.Registry.Processes[result.Pid] = (instance, ProcessKind.Main);
                instance.MainProcessGroup = result.Group;
                instance.MainStarted = loop.Time.GetUtcNow();
                loop.Log.LogExpectSatisfied(instance.DisplayName, ExpectFollower.Name(expect), result.Pid);
                return ExpectOutcome.MovesOn;
            case ExpectVerdict.SuperviseAsIs:
                instance.ExpectProblem = result.Message;
                loop.Log.LogExpectProblem(instance.DisplayName, result.Message!);
                return ExpectOutcome.MovesOn;
            case ExpectVerdict.Failed:
                return new ExpectOutcome(true, result.Status, result.Message);
            default:
                throw new InvalidOperationException($"Unknown expect verdict {result.Verdict}");
        }
    }
}

/// <summary>How an expect wait ended: the start goes on, or it failed (how the first process ended, and why).</summary>
internal sealed record ExpectOutcome(bool Failed, ExitStatus? Status, string? Message)
{
    public static readonly ExpectOutcome MovesOn = new(false, null, null);
}
