using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Overview: <c>expect stop|fork|daemon</c> without ptrace.
///
/// The instance waits in <c>spawned</c> while a timer looks at its process every <see cref="SupervisorOptions.ExpectPollInterval"/>:
/// - <c>expect stop</c>: once the process has stopped itself (SIGSTOP), supd sends SIGCONT and moves on.
/// - <c>expect fork</c> / <c>expect daemon</c>: once the first process has exited 0, its surviving descendant has been
///   re-parented to supd (a child subreaper). It is the live child of supd that carries the instance's SUPD_TAG (128
///   random bits per start), started no earlier than the main process, and that supd does not track yet; with exactly one such process (for daemon: one that is not a session leader, or
///   the same one for several polls, since the intermediate child of a double fork is short-lived) supd adopts it
///   through a pidfd, and it becomes the main process.
/// A process that does not do what expect says never hangs the job (as it did in Upstart): after
/// <see cref="SupervisorOptions.ExpectTimeout"/> it is supervised as it is and the mismatch is shown by status; a first
/// process that exited without leaving a daemon fails the start. A stop request acts at once while in spawned.
/// </summary>
public sealed partial class SupervisorLoop
{
    private ExpectFollower? _expectFollower;
    private ExpectFollower Expect => _expectFollower ??= new ExpectFollower(_processes, _time, _options);

    private void StartExpect(JobInstance instance)
    {
        instance.Expect = new ExpectWait { Started = _time.GetTimestamp() };
        // The deadline is the next poll: spawned rests until the poll sees what expect said (or gives up).
        instance.Deadline.Arm(_time, _options.ExpectPollInterval, DeadlineFor(instance), _options.ExpectPollInterval);
    }

    /// <summary>The deadline reached in spawned: one look at the process, and the follower's verdict applied.</summary>
    private void PollExpect(JobInstance instance)
    {
        var expect = instance.Definition.Expect;
        var wait = instance.Expect ??= new ExpectWait { Started = _time.GetTimestamp() };
        var result = Expect.Poll(expect, wait, instance.MainPid, instance.Tag, instance.MainSpawnedAfter);
        switch (result.Verdict)
        {
            case ExpectVerdict.Waiting:
                return;
            case ExpectVerdict.Satisfied when expect == ExpectMode.Stop:
                LogExpectSatisfied(instance.DisplayName, ExpectFollower.Name(expect), instance.MainPid);
                break;
            case ExpectVerdict.Satisfied:
                // The daemon, adopted: it is the main process from now on, signalled through its own group.
                instance.Pids[ProcessKind.Main] = result.Pid;
                _processesByPid[result.Pid] = (instance, ProcessKind.Main);
                instance.MainProcessGroup = result.Group;
                instance.MainStarted = _time.GetUtcNow();
                LogExpectSatisfied(instance.DisplayName, ExpectFollower.Name(expect), result.Pid);
                break;
            case ExpectVerdict.SuperviseAsIs:
                instance.ExpectProblem = result.Message;
                LogExpectProblem(instance.DisplayName, result.Message!);
                break;
            case ExpectVerdict.Failed:
                FailAndStop(instance, ProcessKind.Main, result.Status, null, result.Message);
                break;
        }
        Advance(instance);
    }
}
