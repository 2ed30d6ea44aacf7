using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;
using Supervisor.Core.Language;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Core.Processes;

/// <summary>
/// Overview: spawning and reaping for real, without System.Diagnostics.Process.
///
/// Spawn: posix_spawn with a new session (pgid = sid = pid), an empty signal mask, every signal back to SIG_DFL,
/// stdin from /dev/null, stdout and stderr dup'ed onto the write end of a fresh pipe, and every fd from 3 up closed
/// (addclosefrom_np), so a job never inherits supd's descriptors or its ignored SIGPIPE. The parent's write end is
/// closed right after the spawn, or the pipe would never reach end of file.
///
/// Reap: one dedicated thread ("supd-reaper") waits in epoll on a pidfd per child (registered once, at spawn) plus an
/// eventfd used to wake it, and reaps each child with waitid(P_PIDFD), so the runtime never sees (or steals) an exit
/// status. epoll rather than poll: with 1000 jobs, re-arming 1000 fds on every wake-up cost about 1 ms of CPU per
/// second of idling and grew with every spawn. supd is a child subreaper,
/// so orphans of a job (its double-forked daemons) are re-parented to us: a sweep with waitid(P_ALL, WNOWAIT) after
/// every wake-up and on a tick (1 s, 5 s once quiet) reaps those we do not own, so zombies never accumulate.
///
/// Races: a pid cannot be recycled until we reap it, so pidfd_open right after posix_spawn is exact. The spawn,
/// the pidfd registration and the orphan sweep share one lock, so the sweep can never mistake a just-spawned child
/// for an orphan and swallow its status.
/// </summary>
public sealed partial class NativeProcessControl : IProcessControl
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, int> _pidfds = new();
    private readonly ConcurrentDictionary<Task, bool> _pumps = new();
    private readonly OutputPump _pump;
    private readonly ILogger _log;
    private readonly int _wakeFd;
    private readonly int _epollFd;
    private Thread? _thread;
    private Action<ChildExit>? _onExit;
    private volatile bool _disposed;
    private readonly bool _reapOrphans;
    private readonly bool _isInit = Libc.GetPid() == 1;
    private readonly int _umask = ReadUmask();

    // Exec helpers whose report is still awaited; their exit, if reaped meanwhile, is held in _held.
    private readonly HashSet<int> _pending = [];
    private readonly Dictionary<int, ChildExit> _held = [];

    // Children whose pidfd epoll refused (or who have none): checked on every wake-up and tick.
    private readonly HashSet<int> _unwatched = [];

    // Exec helpers that failed: their exit is not reported.
    private readonly HashSet<int> _discard = [];
    private long _orphansReaped;

    /// <param name="childSubreaper">
    /// Become a child subreaper and reap every child, ours or adopted (supd). Off only where this process also runs
    /// children it does not own through System.Diagnostics.Process (a test host): then only our pidfds are reaped.
    /// </param>
    /// <param name="containment">How a job instance's processes are kept together; null: process groups and the tag.</param>
    public NativeProcessControl(ILogger<NativeProcessControl> log, bool childSubreaper = true, IJobContainment? containment = null)
    {
        _log = log;
        Containment = containment ?? new TagContainment(ContainmentMode.ProcessGroups("not configured"), TimeProvider.System, log);
        _pump = new OutputPump(log);
        _reapOrphans = childSubreaper;
        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0) throw new IOException($"eventfd: {Errno.Last}");
        _epollFd = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epollFd < 0) throw new IOException($"epoll_create1: {Errno.Last}");
        if (!Libc.EpollAdd(_epollFd, _wakeFd, WakeData)) throw new IOException($"epoll_ctl: {Errno.Last}");
        if (childSubreaper && Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
            LogSubreaperFailed(Errno.Last.Message);
        if (childSubreaper) GuardChildSignal();
    }

    /// <summary>
    /// True when supd runs as PID 1 (a container's init): then orphans come to us from the whole namespace, and a
    /// runtime SIGCHLD handler would reap our children before we could (<see cref="ChildSignalGuard"/>).
    /// </summary>
    public bool IsInit => _isInit;

    // Before every spawn (so a handler installed since, by the console, cannot take this child's status) and on the
    // reaper's tick. Only supd (the subreaper) does this: a test host's own Process children need the runtime's handler.
    private void GuardChildSignal()
    {
        if (!_reapOrphans) return;
        if (ChildSignalGuard.Enforce(evenIfCaught: _isInit) is { } found) LogChildSignalReset(found);
    }

    /// <summary>How job instances are contained: a cgroup each, or process groups and their tag.</summary>
    public IJobContainment Containment { get; }

    public void SignalUnit(string key, int signal) => Containment.Signal(key, signal);

    public void EndUnit(string key, TimeSpan killTimeout) => Containment.End(key, killTimeout);

    /// <summary>Orphans (not spawned by us) reaped so far.</summary>
    public long OrphansReaped => Interlocked.Read(ref _orphansReaped);

    public void Start(Action<ChildExit> onExit)
    {
        _onExit = onExit;
        _thread = new Thread(ReapLoop) { IsBackground = true, Name = "supd-reaper" };
        _thread.Start();
    }

    /// <summary>How supd starts itself as the exec helper (argv before <c>--exec-helper</c>).</summary>
    public IReadOnlyList<string> ExecHelperCommand { get; init; } = ExecHelper.DefaultCommand();

    /// <summary>How long Spawn waits for the exec helper's report.</summary>
    public TimeSpan ExecHelperTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A job's output pipe is grown to this (from 64 KiB) so a fast writer fills big chunks between two reads: fewer
    /// wake-ups and writes per MiB. Best effort: past the user's pipe quota the kernel keeps the default.
    /// </summary>
    private const int OutputPipeSize = 1024 * 1024;

    public unsafe SpawnResult Spawn(SpawnRequest request)
    {
        var settings = request.Settings ?? ProcessSettings.Default;
        var credentials = Credentials.Resolve(settings, out var credentialError);
        if (credentials is null) return SpawnResult.Failed(credentialError!);

        // A contained process joins its cgroup in the exec helper, before it execs: never moved after the fact.
        string? cgroup;
        try
        {
            cgroup = request.Unit is { } unit ? Containment.Prepare(unit) : null;
        }
        catch (ContainmentException e)
        {
            return SpawnResult.Failed(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return SpawnResult.Failed($"unable to create the job's cgroup: {e.Message}");
        }
        var helper = cgroup is not null || ExecHelper.IsNeeded(settings, credentials, _umask);
        // Without chroot, the directory is checked here for a clear message; inside a chroot the helper checks it.
        if (settings.Chroot is null && !Directory.Exists(request.WorkingDirectory))
            return SpawnResult.Failed($"unable to change working directory: {request.WorkingDirectory}: No such file or directory");

        var environment = WithLoginVariables(request.Environment, credentials);
        var file = request.File;
        var arguments = request.Arguments;
        if (helper)
        {
            var (argv, extra) = ExecHelper.BuildCommand(
                ExecHelperCommand, settings, credentials, request.WorkingDirectory, request.File, request.Arguments, environment, cgroup);
            file = argv[0];
            arguments = argv;
            environment = [.. environment, .. extra];
        }

        var inheritConsole = request.Output is null && settings.Console is ConsoleMode.Output or ConsoleMode.Owner;
        int* pipe = stackalloc int[2] { -1, -1 };
        int* status = stackalloc int[2] { -1, -1 };
        if (request.Output is not null && Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
        {
            var error = Errno.Last;
            return SpawnResult.Failed($"unable to create output pipe: {error}", error.IsTransient);
        }
        if (request.Output is not null) Libc.Fcntl(pipe[0], Libc.F_SETPIPE_SZ, OutputPipeSize);
        if (helper && Libc.Pipe2(status, Libc.O_CLOEXEC) != 0)
        {
            var error = Errno.Last;
            if (pipe[0] >= 0) { Libc.Close(pipe[0]); Libc.Close(pipe[1]); }
            return SpawnResult.Failed($"unable to create status pipe: {error}", error.IsTransient);
        }

        using var path = new NativeString(file);
        using var cwd = new NativeString(helper ? "/" : request.WorkingDirectory);
        using var devNull = new NativeString("/dev/null");
        using var argvNative = new NativeStringArray(arguments);
        using var envp = new NativeStringArray(environment);

        byte* attr = stackalloc byte[Libc.SpawnAttrSize];
        byte* actions = stackalloc byte[Libc.FileActionsSize];
        byte* mask = stackalloc byte[Libc.SigSetSize];
        byte* defaults = stackalloc byte[Libc.SigSetSize];
        Libc.SpawnAttrInit(attr);
        Libc.FileActionsInit(actions);
        int rc, pid = 0;
        try
        {
            Libc.SigEmptySet(mask);
            Libc.SigFillSet(defaults);
            Libc.SpawnAttrSetSigMask(attr, mask);
            Libc.SpawnAttrSetSigDefault(attr, defaults);
            Libc.SpawnAttrSetFlags(attr, Libc.POSIX_SPAWN_SETSID | Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF);
            Libc.FileActionsAddOpen(actions, 0, devNull.Pointer, Libc.O_RDONLY, 0);
            if (request.Output is not null)
            {
                Libc.FileActionsAddDup2(actions, pipe[1], 1);
                Libc.FileActionsAddDup2(actions, pipe[1], 2);
            }
            else if (!inheritConsole)
            {
                Libc.FileActionsAddOpen(actions, 1, devNull.Pointer, Libc.O_WRONLY, 0);
                Libc.FileActionsAddOpen(actions, 2, devNull.Pointer, Libc.O_WRONLY, 0);
            }
            // console output/owner: fds 1 and 2 stay supd's own (posix_spawn keeps them; they are not close-on-exec).
            if (helper) Libc.FileActionsAddDup2(actions, status[1], ExecHelper.StatusFd);
            // The helper changes directory itself, after chroot; starting it in / keeps it off any mount it might pin.
            Libc.FileActionsAddChdir(actions, cwd.Pointer);
            Libc.FileActionsAddCloseFrom(actions, helper ? ExecHelper.StatusFd + 1 : 3);

            lock (_gate)
            {
                if (_isInit) GuardChildSignal();
                rc = Libc.PosixSpawn(out pid, path.Pointer, actions, attr, argvNative.Pointer, envp.Pointer);
                if (rc == 0)
                {
                    Track(pid);
                    if (helper) _pending.Add(pid);
                }
            }
        }
        finally
        {
            Libc.FileActionsDestroy(actions);
            Libc.SpawnAttrDestroy(attr);
            if (pipe[1] >= 0) Libc.Close(pipe[1]);
            if (status[1] >= 0) Libc.Close(status[1]);
        }

        if (rc != 0)
        {
            if (pipe[0] >= 0) Libc.Close(pipe[0]);
            if (status[0] >= 0) Libc.Close(status[0]);
            return SpawnResult.Failed(helper
                ? $"unable to start the exec helper {file}: {new Errno(rc).Message}"
                : $"cannot run {file}: {new Errno(rc).Message}", new Errno(rc).IsTransient);
        }
        if (request.Output is not null) StartPump(pipe[0], request.Output, request.Description);
        if (!helper) return SpawnResult.Started(pid);

        ExecHelper.Report report;
        try
        {
            report = ExecHelper.ReadStatus(status[0], ExecHelperTimeout);
        }
        finally
        {
            Libc.Close(status[0]);
        }
        return Settle(pid, report);
    }

    // The helper reported: a failed one's exit is nobody's business (the spawn failed); a successful one is the job.
    private SpawnResult Settle(int pid, ExecHelper.Report report)
    {
        ChildExit? held;
        lock (_gate)
        {
            _pending.Remove(pid);
            held = _held.Remove(pid, out var exit) ? exit : null;
            if (report.Error is not null)
            {
                if (held is null)
                {
                    _discard.Add(pid);
                    // A helper that hangs is killed; one that failed exits by itself.
                    Signal(pid, Signals.SIGKILL);
                }
                held = null;
            }
        }
        if (held is { } early) _onExit?.Invoke(early);
        return report.Error is not null
            ? SpawnResult.Failed(report.Error)
            : SpawnResult.Started(pid, report.NotApplied);
    }

    /// <summary>HOME, USER and LOGNAME from the passwd entry of <c>setuid</c>, unless the job sets them itself.</summary>
    private static IReadOnlyList<string> WithLoginVariables(IReadOnlyList<string> environment, Credentials credentials)
    {
        if (credentials.UserName is null) return environment;
        var result = environment.ToList();
        void Add(string key, string value)
        {
            if (!result.Any(e => e.StartsWith(key + "=", StringComparison.Ordinal))) result.Add($"{key}={value}");
        }
        Add("HOME", credentials.Home ?? "/");
        Add("USER", credentials.UserName);
        Add("LOGNAME", credentials.UserName);
        return result;
    }

    // supd's own umask, read without changing it (umask(2) can only be read by setting it).
    private static int ReadUmask()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("Umask:", StringComparison.Ordinal))
                return Convert.ToInt32(line[6..].Trim(), 8);
        return -1;
    }

    // Under _gate, right after posix_spawn: the child cannot have been reaped yet, so its pid is still its own.
    private void Track(int pid)
    {
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
    }

    // Under _gate. The pidfd becomes readable when the child exits; the reaper then reaps it by pid. Should epoll refuse
    // it (max_user_watches), the child is checked on every wake-up and tick instead (1 s, 5 s once quiet).
    private void WatchOwned(int pid, int pidfd)
    {
        if (Libc.EpollAdd(_epollFd, pidfd, (ulong)pid)) return;
        LogWatchFailed(pid, Errno.Last.Message);
        _unwatched.Add(pid);
    }

    public bool Signal(int pid, int signal)
    {
        lock (_gate)
        {
            if (!_pidfds.TryGetValue(pid, out var pidfd)) return false;
            return pidfd >= 0
                ? SendViaPidfd(pidfd, signal)
                : Libc.Kill(pid, signal) == 0;
        }
    }

    public bool SignalGroup(int pgid, int signal) => pgid > 1 && Libc.Kill(-pgid, signal) == 0;

    public async Task DrainOutputAsync(TimeSpan timeout)
    {
        var pending = _pumps.Keys.ToArray();
        if (pending.Length == 0) return;
        try
        {
            await Task.WhenAll(pending).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A job's orphan still holds its output pipe open; its bytes keep flowing while supd lives.
        }
    }

    private void StartPump(int readFd, IOutputSink sink, string description)
    {
        var pump = _pump.Start(readFd, sink, description);
        _pumps[pump] = true;
        pump.ContinueWith(t => _pumps.TryRemove(t, out _), TaskScheduler.Default);
    }

    private static unsafe bool SendViaPidfd(int pidfd, int signal) => Libc.PidfdSendSignal(pidfd, signal, null, 0) == 0;

    private unsafe void Wake()
    {
        ulong one = 1;
        Libc.Write(_wakeFd, &one, sizeof(ulong));
    }

    private const ulong WakeData = 0; // epoll data of the eventfd; a pidfd's is its child's pid, never 0
    private const int MaxEvents = 64;
    // The sweep walks every child in the kernel (about 0.2 ms with 1000 jobs), so it ticks every second only while
    // children come and go, and every 5 s once nothing has been reaped for 10 ticks: an orphan that dies while all is
    // quiet is reaped within 5 s, and an idle supd with 1000 jobs spends ~1 ms per 20 s on it instead of 4.
    private const int TickMs = 1000;
    private const int IdleTickMs = 5000;
    private const int TicksUntilIdle = 10;

    private unsafe void ReapLoop()
    {
        var exits = new List<ChildExit>();
        var events = stackalloc byte[Libc.EpollEventsBytes(MaxEvents)];
        var quietTicks = 0;
        while (!_disposed)
        {
            // The tick is for orphans: an adopted process's exit makes no pidfd readable, so the sweep finds it.
            var ready = Libc.EpollWait(_epollFd, events, MaxEvents, quietTicks >= TicksUntilIdle ? IdleTickMs : TickMs);
            if (ready < 0)
            {
                var error = Errno.Last;
                if (error.Value == Errno.EINTR) continue;
                Environment.FailFast($"supd reaper: epoll_wait failed: {error}");
            }
            if (_disposed) break;

            lock (_gate)
            {
                for (var i = 0; i < ready; i++)
                {
                    var data = Libc.EpollData(events, i);
                    if (data == WakeData)
                    {
                        ulong counter;
                        Libc.Read(_wakeFd, &counter, sizeof(ulong));
                    }
                    else TryReapOwned((int)data, exits);
                }
                if (_unwatched.Count > 0)
                {
                    foreach (var pid in _unwatched.ToArray()) TryReapOwned(pid, exits);
                }
                var orphans = _orphansReaped;
                if (_reapOrphans) SweepLocked(exits);
                if (_isInit && ready == 0) GuardChildSignal();
                quietTicks = ready > 0 || exits.Count > 0 || _orphansReaped != orphans ? 0 : quietTicks + 1;
            }
            foreach (var exit in exits) _onExit?.Invoke(exit);
            exits.Clear();
        }
    }

    // Under _gate. Reaps one of our children if it has exited.
    private unsafe void TryReapOwned(int pid, List<ChildExit> exits)
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

    // Under _gate. An exec helper's exit waits for its report; a failed helper's is dropped.
    private void Report(ChildExit exit, List<ChildExit> exits)
    {
        if (_discard.Remove(exit.Pid)) return;
        if (_pending.Contains(exit.Pid)) _held[exit.Pid] = exit;
        else exits.Add(exit);
    }

    // Under _gate. Collects every exited child: ours through their pidfd, orphans by pid.
    private unsafe void SweepLocked(List<ChildExit> exits)
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

    // Under _gate. Closing the pidfd (ours alone) also takes it out of the epoll set.
    private void Forget(int pid, int pidfd)
    {
        _pidfds.Remove(pid);
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
        _disposed = true;
        Wake();
        _thread?.Join(TimeSpan.FromSeconds(2));
        lock (_gate)
        {
            foreach (var fd in _pidfds.Values)
                if (fd >= 0) Libc.Close(fd);
            _pidfds.Clear();
        }
        Libc.Close(_wakeFd);
        Libc.Close(_epollFd);
        _pump.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not become a child subreaper ({Reason}); orphans of jobs go to init")]
    private partial void LogSubreaperFailed(string reason);

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
