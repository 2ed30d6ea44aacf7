using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// The reaper: one dedicated thread ("supd-reaper") waits in epoll on a pidfd per child (registered once, at spawn)
/// plus an eventfd used to wake it, and reaps each child with waitid(P_PIDFD), so the runtime never sees (or steals) an
/// exit status. epoll rather than poll: with 1000 jobs, re-arming 1000 fds on every wake-up cost about 1 ms of CPU per
/// second of idling and grew with every spawn. supd is a child subreaper, so orphans of a job (its double-forked
/// daemons) are re-parented to us: a sweep with waitid(P_ALL, WNOWAIT) after every wake-up and on a tick (1 s, 5 s
/// once quiet) reaps those we do not own, so zombies never accumulate.
///
/// Races: a pid cannot be recycled until we reap it, so pidfd_open right after posix_spawn is exact. The spawn (under
/// <see cref="Gate"/>), the pidfd registration and the orphan sweep share one lock, so the sweep can never mistake a
/// just-spawned child for an orphan and swallow its status.
///
/// Exec helpers: the reaper also reads each helper's status pipe, in the same epoll (<see cref="HelperReports"/>), and
/// posts its <see cref="SpawnReport"/> before any exit of that pid: a helper's exit is held until its report is in; a
/// failed helper's exit is nobody's business (dropped), a successful one is the job's. So a spawn through the helper
/// never blocks the spawning thread, and any number of helpers start at once.
/// </summary>
internal sealed partial class ChildReaper : IDisposable
{
    // Changed under Gate only; a ConcurrentDictionary so that IsTracked reads it without the Gate (a request's
    // status must not wait behind a bring-up's spawns, which hold the Gate one after another).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> _pidfds = new();
    private readonly ILogger _log;
    private readonly int _wakeFd;
    private readonly int _epollFd;
    private readonly bool _reapOrphans;
    private readonly bool _isInit;
    private Thread? _thread;
    private Action<ChildExit>? _onExit;
    private Action<SpawnReport>? _onReport;
    private volatile bool _disposed;
    private volatile bool _parkRequested;
    private readonly ManualResetEventSlim _parked = new(false);
    private readonly ManualResetEventSlim _resume = new(true);

    // Exec helpers whose report is still awaited; their exit, if reaped meanwhile, is held in _held.
    private readonly HelperReports _reports = new();
    private readonly Dictionary<int, ChildExit> _held = [];

    // Children whose pidfd epoll refused (or who have none): checked on every wake-up and tick.
    private readonly HashSet<int> _unwatched = [];

    // Exec helpers that failed: their exit is not reported.
    private readonly HashSet<int> _discard = [];
    private long _orphansReaped;

    /// <param name="reapOrphans">Reap every child, ours or adopted (supd, a child subreaper); else only our pidfds.</param>
    /// <param name="isInit">supd is PID 1: SIGCHLD's disposition is guarded on every quiet tick too.</param>
    public ChildReaper(ILogger log, bool reapOrphans, bool isInit)
    {
        _log = log;
        _reapOrphans = reapOrphans;
        _isInit = isInit;
        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0) throw new IOException($"eventfd: {Errno.Last}");
        _epollFd = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epollFd < 0) throw new IOException($"epoll_create1: {Errno.Last}");
        if (!Libc.EpollAdd(_epollFd, _wakeFd, WakeData)) throw new IOException($"epoll_ctl: {Errno.Last}");
    }

    /// <summary>Held around posix_spawn and <see cref="TrackLocked"/>, so the sweep never sees a child before it is ours.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Orphans (not spawned by us) reaped so far.</summary>
    public long OrphansReaped => Interlocked.Read(ref _orphansReaped);

    public void Start(Action<ChildExit> onExit, Action<SpawnReport> onReport)
    {
        _onExit = onExit;
        _onReport = onReport;
        _thread = new Thread(ReapLoop) { IsBackground = true, Name = "supd-reaper" };
        _thread.Start();
    }

    /// <summary>
    /// Before every spawn (so a handler installed since, by the console, cannot take this child's status) and on the
    /// reaper's tick. Only supd (the subreaper) does this: a test host's own Process children need the runtime's handler.
    /// </summary>
    public void GuardChildSignal()
    {
        if (!_reapOrphans) return;
        if (ChildSignalGuard.Enforce(evenIfCaught: _isInit) is { } found) LogChildSignalReset(found);
    }

    /// <summary>Under <see cref="Gate"/>, right after posix_spawn: the child cannot have been reaped yet, so its pid is still its own.</summary>
    /// <param name="reportFd">An exec helper's status pipe (read end, non-blocking; now the reaper's to close): its
    /// report is read as it comes and its exit held until then. -1 for a process that needs none.</param>
    public void TrackLocked(int pid, int reportFd = -1)
    {
        if (reportFd >= 0 && Libc.EpollAdd(_epollFd, reportFd, ReportTag | (uint)reportFd)) _reports.Await(pid, reportFd);
        else if (reportFd >= 0)
        {
            // epoll refused the pipe (max_user_watches): the spawn fails on the next wake-up, and the helper is killed.
            var error = Errno.Last.Message;
            Libc.Close(reportFd);
            _reports.Refuse(pid);
            _refused.Add(new SpawnReport(pid, $"unable to watch the exec helper's report: {error}", []));
            Wake();
        }
        var pidfd = Libc.PidfdOpen(pid, 0);
        if (pidfd < 0)
        {
            // Without a pidfd the reaper would only find it through the sweep; keep it exact instead.
            var error = Errno.Last;
            LogPidfdFailed(pid, error.Message);
            _pidfds[pid] = -1;
            _unwatched.Add(pid);
            return;
        }
        _pidfds[pid] = pidfd;
        WatchOwned(pid, pidfd);
        // The report's deadline is a whole timeout away: past the reaper's longest sleep, unless the timeout is shorter.
        if (reportFd >= 0 && _reports.Timeout.TotalMilliseconds < IdleTickMs) Wake();
    }

    /// <summary>
    /// Under <see cref="Gate"/>, right after spawning one of supd's own helpers (the fork server): it is reaped as
    /// ours, never taken for an orphan, and its exit is not reported (it is no job's).
    /// </summary>
    public void TrackInternalLocked(int pid)
    {
        TrackLocked(pid);
        _discard.Add(pid);
    }

    /// <summary>
    /// Ends one of supd's own helpers (<see cref="TrackInternalLocked"/>) and reaps it before returning: it is given
    /// <paramref name="grace"/> to exit by itself (its socket was closed), then killed.
    /// </summary>
    public unsafe void EndInternal(int pid, TimeSpan grace)
    {
        lock (Gate)
        {
            if (!_pidfds.TryGetValue(pid, out var pidfd) || pidfd < 0) return;
            var poll = new Libc.PollFd { Fd = pidfd, Events = Libc.POLLIN };
            if (Libc.Poll(&poll, 1, (int)grace.TotalMilliseconds) <= 0)
            {
                SendViaPidfd(pidfd, Signals.SIGKILL);
                Libc.Poll(&poll, 1, 1000);
            }
            Libc.SigInfo info = default;
            if (Libc.WaitId(Libc.P_PIDFD, pidfd, &info, Libc.WEXITED | Libc.WNOHANG) == 0 && info.Pid != 0)
            {
                Forget(pid, pidfd);
                _discard.Remove(pid);
            }
        }
    }

    /// <summary>How long an exec helper has to report before it is killed and its spawn failed.</summary>
    public TimeSpan ReportTimeout
    {
        get => _reports.Timeout;
        set => _reports.Timeout = value;
    }

    // Under Gate. A report is in: it goes out first, then the helper's exit if it was held (a successful helper is the
    // job) or never (a failed one, killed here should it still run).
    private void SettleLocked(SpawnReport report, List<Notice> notices)
    {
        notices.Add(new Notice(null, report));
        var held = _held.Remove(report.Pid, out var exit) ? exit : (ChildExit?)null;
        if (report.Succeeded)
        {
            if (held is { } early) notices.Add(new Notice(early, null));
            return;
        }
        if (held is null)
        {
            _discard.Add(report.Pid);
            SignalLocked(report.Pid, Signals.SIGKILL);
        }
    }

    /// <summary>A reaped child's exit, or an exec helper's report, in the order the loop must see them.</summary>
    private readonly record struct Notice(ChildExit? Exit, SpawnReport? Report);

    /// <summary>
    /// Stops reaping, for a re-exec: once this returns true every exit reaped so far has been handed to the loop and
    /// no other will be, so a child that ends meanwhile stays a zombie for the next image to reap (its status intact).
    /// </summary>
    public bool Park(TimeSpan timeout)
    {
        _resume.Reset();
        _parkRequested = true;
        Wake();
        if (_parked.Wait(timeout)) return true;
        Unpark();
        return false;
    }

    public void Unpark()
    {
        _parkRequested = false;
        _resume.Set();
    }

    /// <summary>Follows a process supd did not spawn (expect fork's daemon, re-parented to us) by pidfd.</summary>
    public bool Adopt(int pid)
    {
        lock (Gate)
        {
            if (_pidfds.ContainsKey(pid)) return true;
            var pidfd = Libc.PidfdOpen(pid, 0);
            if (pidfd < 0) return false;
            _pidfds[pid] = pidfd;
            WatchOwned(pid, pidfd);
        }
        return true;
    }

    /// <summary>
    /// Follows a process that is not supd's child (a job adopted after a restart of supd: its parent is now init or
    /// the service manager): its end is reported when its pidfd becomes readable, with <see cref="ExitStatus.Unknown"/>,
    /// since only its parent can learn the status.
    /// </summary>
    public bool AdoptForeign(int pid)
    {
        lock (Gate)
        {
            if (!Adopt(pid)) return false;
            _foreign.Add(pid);
        }
        return true;
    }

    // Followed, not ours: waitid answers ECHILD while they run, so their end is the pidfd's readiness.
    private readonly HashSet<int> _foreign = [];

    /// <summary>Whether the pid is one of ours now, read without the Gate (a tracking in progress under it shows when it is done).</summary>
    public bool Owns(int pid) => _pidfds.ContainsKey(pid);

    /// <summary>Signals one of ours through its pidfd (never a recycled pid); false when it is not ours.</summary>
    public bool Signal(int pid, int signal)
    {
        lock (Gate) return SignalLocked(pid, signal);
    }

    internal bool SignalLocked(int pid, int signal)
    {
        if (!_pidfds.TryGetValue(pid, out var pidfd)) return false;
        return pidfd >= 0 ? SendViaPidfd(pidfd, signal) : Libc.Kill(pid, signal) == 0;
    }

    private static unsafe bool SendViaPidfd(int pidfd, int signal) => Libc.PidfdSendSignal(pidfd, signal, null, 0) == 0;

    // Under Gate. The pidfd becomes readable when the child exits; the reaper then reaps it by pid. Should epoll refuse
    // it (max_user_watches), the child is checked on every wake-up and tick instead (1 s, 5 s once quiet).
    private void WatchOwned(int pid, int pidfd)
    {
        if (Libc.EpollAdd(_epollFd, pidfd, (ulong)pid)) return;
        LogWatchFailed(pid, Errno.Last.Message);
        _unwatched.Add(pid);
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        Libc.Write(_wakeFd, &one, sizeof(ulong));
    }

    private const ulong WakeData = 0; // epoll data of the eventfd; a pidfd's is its child's pid, never 0
    private const ulong ReportTag = 1UL << 40; // epoll data of a helper's status pipe: this bit, and the fd

    // Helpers whose pipe epoll refused: failed on the next wake-up.
    private readonly List<SpawnReport> _refused = [];
    private const int MaxEvents = 64;
    // The sweep walks every child in the kernel (about 0.2 ms with 1000 jobs), so it ticks every second only while
    // children come and go, and every 5 s once nothing has been reaped for 10 ticks: an orphan that dies while all is
    // quiet is reaped within 5 s, and an idle supd with 1000 jobs spends ~1 ms per 20 s on it instead of 4.
    private const int TickMs = 1000;
    private const int IdleTickMs = 5000;
    private const int TicksUntilIdle = 10;

    private unsafe void ReapLoop()
    {
        var notices = new List<Notice>();
        var expired = new List<SpawnReport>();
        var events = stackalloc byte[Libc.EpollEventsBytes(MaxEvents)];
        var quietTicks = 0;
        while (!_disposed)
        {
            if (_parkRequested)
            {
                // Every notice reaped before is out (delivered at the end of the last turn).
                _parked.Set();
                _resume.Wait();
                _parked.Reset();
                continue;
            }
            // The tick is for orphans: an adopted process's exit makes no pidfd readable, so the sweep finds it. A
            // helper's report deadline may come sooner.
            int timeout;
            lock (Gate) timeout = _reports.MillisecondsUntilNextDeadline(quietTicks >= TicksUntilIdle ? IdleTickMs : TickMs);
            var ready = Libc.EpollWait(_epollFd, events, MaxEvents, timeout);
            if (ready < 0)
            {
                var error = Errno.Last;
                if (error.Value == Errno.EINTR) continue;
                Environment.FailFast($"supd reaper: epoll_wait failed: {error}");
            }
            if (_disposed) break;

            lock (Gate)
            {
                for (var i = 0; i < ready; i++)
                {
                    var data = Libc.EpollData(events, i);
                    if (data == WakeData)
                    {
                        ulong counter;
                        Libc.Read(_wakeFd, &counter, sizeof(ulong));
                    }
                    else if ((data & ReportTag) != 0)
                    {
                        if (_reports.Read((int)(data & ~ReportTag)) is { } report) SettleLocked(report, notices);
                    }
                    else TryReapOwned((int)data, notices);
                }
                if (_reports.Count > 0 || _refused.Count > 0)
                {
                    expired.AddRange(_refused);
                    _refused.Clear();
                    _reports.Expire(expired);
                    foreach (var report in expired)
                    {
                        _reports.Settled(report.Pid);
                        SettleLocked(report, notices);
                    }
                    expired.Clear();
                }
                if (_unwatched.Count > 0)
                {
                    foreach (var pid in _unwatched.ToArray()) TryReapOwned(pid, notices);
                }
                var orphans = _orphansReaped;
                if (_reapOrphans) SweepLocked(notices);
                if (_isInit && ready == 0) GuardChildSignal();
                quietTicks = ready > 0 || notices.Count > 0 || _orphansReaped != orphans ? 0 : quietTicks + 1;
            }
            foreach (var notice in notices)
            {
                if (notice.Report is { } report) _onReport?.Invoke(report);
                else if (notice.Exit is { } exit) _onExit?.Invoke(exit);
            }
            notices.Clear();
        }
    }

    // Under Gate. Reaps one of our children if it has exited.
    private unsafe void TryReapOwned(int pid, List<Notice> exits)
    {
        if (!_pidfds.TryGetValue(pid, out var pidfd)) return;
        Libc.SigInfo info = default;
        var rc = pidfd >= 0
            ? Libc.WaitId(Libc.P_PIDFD, pidfd, &info, Libc.WEXITED | Libc.WNOHANG)
            : Libc.WaitId(Libc.P_PID, pid, &info, Libc.WEXITED | Libc.WNOHANG);
        if (rc != 0)
        {
            var error = Errno.Last;
            if (error.Value == Errno.EINTR) return;
            if (_foreign.Contains(pid))
            {
                if (pidfd >= 0 && !HasEnded(pidfd)) return;
                Forget(pid, pidfd);
                Report(new ChildExit(pid, ExitStatus.Unknown), exits);
                return;
            }
            // ECHILD: something else reaped our child (a runtime SIGCHLD handler). Its status is lost; say so.
            LogStatusLost(pid, error.Message);
            Forget(pid, pidfd);
            Report(new ChildExit(pid, ExitStatus.Exited(255)), exits);
            return;
        }
        if (info.Pid == 0) return;
        Forget(pid, pidfd);
        Report(new ChildExit(pid, Decode(info)), exits);
    }

    // Under Gate. An exec helper's exit waits for its report; a failed helper's is dropped.
    private void Report(ChildExit exit, List<Notice> exits)
    {
        if (_discard.Remove(exit.Pid)) return;
        if (_reports.IsAwaited(exit.Pid)) _held[exit.Pid] = exit;
        else exits.Add(new Notice(exit, null));
    }

    // Under Gate. Collects every exited child: ours through their pidfd, orphans by pid.
    private unsafe void SweepLocked(List<Notice> exits)
    {
        while (true)
        {
            Libc.SigInfo info = default;
            if (Libc.WaitId(Libc.P_ALL, 0, &info, Libc.WEXITED | Libc.WNOHANG | Libc.WNOWAIT) != 0 || info.Pid == 0)
                return;
            if (_pidfds.ContainsKey(info.Pid))
            {
                TryReapOwned(info.Pid, exits);
                continue;
            }
            Libc.SigInfo orphan = default;
            if (Libc.WaitId(Libc.P_PID, info.Pid, &orphan, Libc.WEXITED | Libc.WNOHANG) != 0) return;
            Interlocked.Increment(ref _orphansReaped);
            LogOrphanReaped(info.Pid, Decode(orphan).ToString());
        }
    }

    // Under Gate. Closing the pidfd (ours alone) also takes it out of the epoll set.
    // A pidfd polls readable once its process has ended (for any process, child or not).
    private static unsafe bool HasEnded(int pidfd)
    {
        var poll = new Libc.PollFd { Fd = pidfd, Events = Libc.POLLIN };
        return Libc.Poll(&poll, 1, 0) > 0 && (poll.REvents & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) != 0;
    }

    private void Forget(int pid, int pidfd)
    {
        _pidfds.TryRemove(pid, out _);
        _foreign.Remove(pid);
        _unwatched.Remove(pid);
        if (pidfd >= 0) Libc.Close(pidfd);
    }

    private static ExitStatus Decode(in Libc.SigInfo info) => info.Code switch
    {
        Libc.CLD_EXITED => ExitStatus.Exited(info.Status),
        Libc.CLD_DUMPED => ExitStatus.Killed(info.Status, coreDumped: true),
        _ => ExitStatus.Killed(info.Status),
    };

    public void Dispose()
    {
        if (_disposed) return;
        Unpark();
        _disposed = true;
        Wake();
        _thread?.Join(TimeSpan.FromSeconds(2));
        lock (Gate)
        {
            foreach (var fd in _pidfds.Values)
                if (fd >= 0) Libc.Close(fd);
            _pidfds.Clear();
            _reports.Clear();
        }
        Libc.Close(_wakeFd);
        Libc.Close(_epollFd);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Found}; restored SIGCHLD's default so that job exit statuses reach supd")]
    private partial void LogChildSignalReset(string found);

    [LoggerMessage(Level = LogLevel.Warning, Message = "epoll refused the pidfd of {Pid} ({Reason}); its exit is checked on every reaper tick (1-5 s)")]
    private partial void LogWatchFailed(int pid, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pidfd_open({Pid}) failed: {Reason}; tracking it by pid")]
    private partial void LogPidfdFailed(int pid, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Exit status of pid {Pid} was taken by someone else ({Reason}); reporting status 255")]
    private partial void LogStatusLost(int pid, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reaped orphan {Pid}: {Status}")]
    private partial void LogOrphanReaped(int pid, string status);
}
