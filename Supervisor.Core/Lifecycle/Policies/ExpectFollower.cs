using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>An instance's wait on <c>expect</c>, from entering spawned until the follower's verdict.</summary>
internal sealed class ExpectWait
{
    /// <summary>When the wait began (timestamp).</summary>
    public long Started { get; init; }

    /// <summary>
    /// The first process's session (its own pid: supd spawns every process in a new session); 0 when not known. A
    /// candidate still in it has not called setsid yet: the middle of a double fork, not the daemon.
    /// </summary>
    public int FirstSession { get; init; }

    /// <summary>When the first process exited 0 (fork/daemon); 0 until then.</summary>
    public long InitialExitAt { get; set; }

    /// <summary>The single candidate seen last, and since when it has been the only one (timestamp).</summary>
    public int Candidate { get; set; }
    public long CandidateSince { get; set; }
}

internal enum ExpectVerdict { Waiting, Satisfied, SuperviseAsIs, Failed }

/// <summary>One poll's verdict: for fork/daemon, the adopted process and its group; a message for the last two.</summary>
internal readonly record struct ExpectResult(ExpectVerdict Verdict, int Pid = 0, int Group = 0, ExitStatus? Status = null, string? Message = null);

/// <summary>
/// Overview: <c>expect stop|fork|daemon</c> without ptrace, as one decision per poll over an <see cref="ExpectWait"/>,
/// through the process seam (SIGCONT, the re-parented children carrying the tag, adoption by pidfd).
///
/// The instance waits in <c>spawned</c>, its deadline firing every <see cref="SupervisorOptions.ExpectPollInterval"/>:
/// - <c>expect stop</c>: once the process has stopped itself (SIGSTOP), supd sends SIGCONT and moves on.
/// - <c>expect fork</c> / <c>expect daemon</c>: once the first process has exited 0, its surviving descendant has been
///   re-parented to supd (a child subreaper). It is the live child of supd that carries the instance's SUPD_TAG (128
///   random bits per start), started no earlier than the main process, and that supd does not track yet; with exactly
///   one such process (for daemon: one that is not a session leader, or the same one for
///   <see cref="SupervisorOptions.ExpectDaemonSettle"/>, since the intermediate child of a double fork is short-lived)
///   supd adopts it through a pidfd, and it becomes the main process.
/// A process that does not do what expect says never hangs the job (as it did in Upstart): after
/// <see cref="SupervisorOptions.ExpectTimeout"/> it is supervised as it is and the mismatch is shown by status; a first
/// process that exited without leaving a daemon fails the start. A stop request acts at once while in spawned.
/// <see cref="ExpectWatch"/> applies the verdict (moves on, follows the adopted process, or fails the start).
/// </summary>
internal sealed class ExpectFollower(IProcessControl processes, TimeProvider time, SupervisorOptions options)
{
    /// <param name="mainPid">The live main process (0 once the first process has exited).</param>
    /// <param name="tag">The start's SUPD_TAG; <paramref name="spawnedAfter"/>: boot-clock ticks before the main spawn.</param>
    public ExpectResult Poll(ExpectMode expect, ExpectWait wait, int mainPid, string tag, ulong spawnedAfter)
    {
        var done = expect == ExpectMode.Stop ? Stopped(mainPid) : Forked(expect, wait, tag, spawnedAfter);
        if (done.Verdict != ExpectVerdict.Waiting) return done;

        if (time.GetElapsedTime(wait.Started) < options.ExpectTimeout) return done;
        var seconds = options.ExpectTimeout.TotalSeconds;
        if (mainPid != 0)
        {
            var what = expect == ExpectMode.Stop ? "stop itself with SIGSTOP" : "fork and exit";
            return new ExpectResult(ExpectVerdict.SuperviseAsIs,
                Message: $"expect {Name(expect)}: the main process ({mainPid}) did not {what} within {seconds}s; supervising it as it is");
        }
        // The first process exited, but which of its descendants is the daemon cannot be told.
        return new ExpectResult(ExpectVerdict.Failed,
            Message: $"expect {Name(expect)}: the main process exited, and no single process it left behind could be followed");
    }

    private ExpectResult Stopped(int mainPid)
    {
        if (mainPid == 0 || processes.Inspect(mainPid) is not { IsStopped: true }) return default;
        processes.Signal(mainPid, Signals.SIGCONT);
        return new ExpectResult(ExpectVerdict.Satisfied, mainPid);
    }

    private ExpectResult Forked(ExpectMode expect, ExpectWait wait, string tag, ulong spawnedAfter)
    {
        if (wait.InitialExitAt == 0) return default;
        var candidates = processes.FindAdopted(Events.EventIds.ProcessVariables.SupdTag, tag, spawnedAfter);
        if (candidates.Count == 0)
        {
            if (time.GetElapsedTime(wait.InitialExitAt) < options.ExpectForkGrace) return default;
            return new ExpectResult(ExpectVerdict.Failed, Status: ExitStatus.Exited(0),
                Message: $"expect {Name(expect)}: the main process exited with status 0 and left no process behind");
        }
        if (candidates.Count > 1)
        {
            wait.Candidate = 0;
            return default;
        }

        var candidate = candidates[0];
        if (candidate != wait.Candidate) wait.CandidateSince = time.GetTimestamp();
        wait.Candidate = candidate;
        if (processes.Inspect(candidate) is not { } info) return default;
        // A daemon lives in a session it does not lead (it forked after setsid); the middle child of a double fork
        // either leads its new session or, before setsid, is still in the first process's one.
        var settled = expect == ExpectMode.Fork || (info.Session != candidate && info.Session != wait.FirstSession)
            || time.GetElapsedTime(wait.CandidateSince) >= options.ExpectDaemonSettle;
        if (!settled || !processes.Adopt(candidate)) return default;
        return new ExpectResult(ExpectVerdict.Satisfied, candidate, info.ProcessGroup);
    }

    public static string Name(ExpectMode expect) => expect.ToString().ToLowerInvariant();
}
