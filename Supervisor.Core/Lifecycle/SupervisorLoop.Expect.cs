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
    private const int StableDaemonPolls = 5;

    private void StartExpect(JobInstance instance)
    {
        instance.ExpectStarted = _time.GetTimestamp();
        instance.ExpectInitialExitAt = 0;
        instance.ExpectCandidate = 0;
        instance.ExpectCandidatePolls = 0;
        // The deadline is the next poll: spawned rests until the poll sees what expect said (or gives up).
        instance.Deadline.Arm(_time, _options.ExpectPollInterval, DeadlineFor(instance), _options.ExpectPollInterval);
    }

    /// <summary>The deadline reached in spawned: one look at the process.</summary>
    private void PollExpect(JobInstance instance)
    {
        var expect = instance.Definition.Expect;
        if (expect == ExpectMode.Stop ? ExpectStopped(instance) : ExpectForked(instance, expect)) return;

        if (_time.GetElapsedTime(instance.ExpectStarted) < _options.ExpectTimeout) return;
        var seconds = _options.ExpectTimeout.TotalSeconds;
        if (instance.MainAlive)
        {
            var what = expect == ExpectMode.Stop ? "stop itself with SIGSTOP" : "fork and exit";
            instance.ExpectProblem = $"expect {Name(expect)}: the main process ({instance.MainPid}) did not {what} within {seconds}s; supervising it as it is";
            LogExpectProblem(instance.DisplayName, instance.ExpectProblem);
            Advance(instance);
            return;
        }
        // The first process exited, but which of its descendants is the daemon cannot be told.
        FailAndStop(instance, ProcessKind.Main, null, null,
            $"expect {Name(expect)}: the main process exited, and no single process it left behind could be followed");
        Advance(instance);
    }

    private bool ExpectStopped(JobInstance instance)
    {
        if (!instance.MainAlive || _processes.Inspect(instance.MainPid) is not { IsStopped: true }) return false;
        _processes.Signal(instance.MainPid, Signals.SIGCONT);
        LogExpectSatisfied(instance.DisplayName, "stop", instance.MainPid);
        Advance(instance);
        return true;
    }

    private bool ExpectForked(JobInstance instance, ExpectMode expect)
    {
        if (instance.ExpectInitialExitAt == 0) return false;
        var candidates = _processes.FindAdopted("SUPD_TAG", instance.Tag, instance.MainSpawnedAfter);
        if (candidates.Count == 0)
        {
            if (_time.GetElapsedTime(instance.ExpectInitialExitAt) < _options.ExpectForkGrace) return false;
            FailAndStop(instance, ProcessKind.Main, ExitStatus.Exited(0), null,
                $"expect {Name(expect)}: the main process exited with status 0 and left no process behind");
            Advance(instance);
            return true;
        }
        if (candidates.Count > 1)
        {
            instance.ExpectCandidate = 0;
            return false;
        }

        var candidate = candidates[0];
        instance.ExpectCandidatePolls = candidate == instance.ExpectCandidate ? instance.ExpectCandidatePolls + 1 : 1;
        instance.ExpectCandidate = candidate;
        if (_processes.Inspect(candidate) is not { } info) return false;
        var settled = expect == ExpectMode.Fork || info.Session != candidate || instance.ExpectCandidatePolls >= StableDaemonPolls;
        if (!settled || !_processes.Adopt(candidate)) return false;

        instance.Pids[ProcessKind.Main] = candidate;
        _processesByPid[candidate] = (instance, ProcessKind.Main);
        instance.MainProcessGroup = info.ProcessGroup;
        instance.MainStarted = _time.GetUtcNow();
        LogExpectSatisfied(instance.DisplayName, Name(expect), candidate);
        Advance(instance);
        return true;
    }

    private static string Name(ExpectMode expect) => expect.ToString().ToLowerInvariant();
}
