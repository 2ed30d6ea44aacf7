using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;
using Supervisor.Core.Language;
using Supervisor.Core.Processes.Containment;
using Supervisor.Core.Processes.Forking;

namespace Supervisor.Core.Processes;

/// <summary>
/// Overview: spawning and reaping for real, without System.Diagnostics.Process.
///
/// Spawn: posix_spawn with a new session (pgid = sid = pid), an empty signal mask, every signal back to SIG_DFL,
/// stdin from /dev/null, stdout and stderr dup'ed onto the write end of a fresh pipe, and every fd from 3 up closed
/// (addclosefrom_np), so a job never inherits supd's descriptors or its ignored SIGPIPE. The parent's write end is
/// closed right after the spawn, or the pipe would never reach end of file. A job that needs what posix_spawn cannot
/// set (credentials, limits, umask, nice, oom score, chroot) is started through the <see cref="ExecHelper"/>.
///
/// Reap: the <see cref="ChildReaper"/>'s thread, one pidfd per child registered under the same lock as the spawn. It
/// also reads each exec helper's report (<see cref="SpawnReport"/>), so a spawn through the helper returns as soon as
/// the helper runs (<see cref="SpawnResult.ReportPending"/>): the helper's own start-up (~7 ms for the native
/// <c>supd-exec</c>, ~30 ms for supd itself) never holds the caller, and many run at once.
/// </summary>
public sealed partial class NativeProcessControl : IProcessControl
{
    private readonly ConcurrentDictionary<Task, bool> _pumps = new();
    private readonly OutputPump _pump;
    private readonly ChildReaper _reaper;
    private readonly ILogger _log;
    private volatile bool _disposed;
    private readonly bool _isInit = Libc.GetPid() == 1;
    private readonly int _umask = ReadUmask();

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
        _reaper = new ChildReaper(log, reapOrphans: childSubreaper, _isInit);
        if (childSubreaper && Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
            LogSubreaperFailed(Errno.Last.Message);
        else IsSubreaper = childSubreaper || _isInit;
        _reaper.GuardChildSignal();
    }

    /// <summary>
    /// True when supd runs as PID 1 (a container's init): then orphans come to us from the whole namespace, and a
    /// runtime SIGCHLD handler would reap our children before we could (<see cref="ChildSignalGuard"/>).
    /// </summary>
    public bool IsInit => _isInit;

    public bool IsSubreaper { get; }

    public bool IsTracked(int pid) => _reaper.Owns(pid);

    /// <summary>How job instances are contained: a cgroup each, or process groups and their tag.</summary>
    public IJobContainment Containment { get; }

    public void SignalUnit(string key, int signal) => Containment.Signal(key, signal);

    public void EndUnit(string key, TimeSpan killTimeout) => Containment.End(key, killTimeout);

    public long OomKills(string key) => Containment.OomKills(key);

    /// <summary>Orphans (not spawned by us) reaped so far.</summary>
    public long OrphansReaped => _reaper.OrphansReaped;

    public void Start(Action<ChildExit> onExit, Action<SpawnReport> onReport) => _reaper.Start(onExit, onReport);

    /// <summary>How the exec helper is started (argv before <c>--exec-helper</c>).</summary>
    public IReadOnlyList<string> ExecHelperCommand { get; init; } = ExecHelper.DefaultCommand();

    /// <summary>How long an exec helper has to report before its spawn fails and it is killed.</summary>
    public TimeSpan ExecHelperTimeout
    {
        get => _reaper.ReportTimeout;
        init => _reaper.ReportTimeout = value;
    }

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
        int* errors = stackalloc int[2] { -1, -1 };
        int* status = stackalloc int[2] { -1, -1 };
        if (request.Output is not null && Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
        {
            var error = Errno.Last;
            return SpawnResult.Failed($"unable to create output pipe: {error}", error.IsTransient);
        }
        if (request.Output is not null) Libc.Fcntl(pipe[0], Libc.F_SETPIPE_SZ, OutputPipeSize);
        // stderr through a pipe of its own only when asked (journald wants its priority); else it shares stdout's.
        var splitErrors = request.Output is not null && request.ErrorOutput is not null;
        if (splitErrors && Libc.Pipe2(errors, Libc.O_CLOEXEC) != 0)
        {
            var error = Errno.Last;
            Libc.Close(pipe[0]);
            Libc.Close(pipe[1]);
            return SpawnResult.Failed($"unable to create error pipe: {error}", error.IsTransient);
        }
        if (helper && Libc.Pipe2(status, Libc.O_CLOEXEC) != 0)
        {
            var error = Errno.Last;
            if (pipe[0] >= 0) { Libc.Close(pipe[0]); Libc.Close(pipe[1]); }
            if (errors[0] >= 0) { Libc.Close(errors[0]); Libc.Close(errors[1]); }
            return SpawnResult.Failed($"unable to create status pipe: {error}", error.IsTransient);
        }
        // The reaper reads the report as it comes, never blocking on it (the helper's end stays blocking).
        if (helper) Libc.Fcntl(status[0], Libc.F_SETFL, Libc.O_NONBLOCK);

        // Through the fork server when it can take it: no runtime to start for this spawn.
        if (helper && ForkServerRequest(arguments, environment, request.Output is not null, inheritConsole, splitErrors) is { } forkRequest)
        {
            var sent = inheritConsole ? [status[1], 1, 2]
                : request.Output is null ? [status[1]]
                : splitErrors ? [status[1], pipe[1], errors[1]] : new[] { status[1], pipe[1] };
            ForkOutcome outcome;
            int forked;
            string forkError;
            bool transient;
            lock (_reaper.Gate)
            {
                if (_isInit) _reaper.GuardChildSignal();
                outcome = ForkServerLocked().TrySpawnLocked(forkRequest, sent, out forked, out forkError, out transient);
                if (outcome == ForkOutcome.Spawned) _reaper.TrackLocked(forked, status[0]);
            }
            if (outcome != ForkOutcome.NotTaken)
            {
                if (pipe[1] >= 0) Libc.Close(pipe[1]);
                if (errors[1] >= 0) Libc.Close(errors[1]);
                Libc.Close(status[1]);
                if (outcome == ForkOutcome.Spawned) return Started(forked, reporting: true);
                if (pipe[0] >= 0) Libc.Close(pipe[0]);
                if (errors[0] >= 0) Libc.Close(errors[0]);
                Libc.Close(status[0]);
                return SpawnResult.Failed(forkError, transient);
            }
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
            Libc.SpawnAttrNewSessionCleanSignals(attr, mask, defaults);
            Libc.FileActionsAddOpen(actions, 0, devNull.Pointer, Libc.O_RDONLY, 0);
            if (request.Output is not null)
            {
                Libc.FileActionsAddDup2(actions, pipe[1], 1);
                Libc.FileActionsAddDup2(actions, splitErrors ? errors[1] : pipe[1], 2);
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

            lock (_reaper.Gate)
            {
                if (_isInit) _reaper.GuardChildSignal();
                rc = Libc.PosixSpawn(out pid, path.Pointer, actions, attr, argvNative.Pointer, envp.Pointer);
                // The status pipe's read end is the reaper's from here on, to read and to close.
                if (rc == 0) _reaper.TrackLocked(pid, helper ? status[0] : -1);
            }
        }
        finally
        {
            Libc.FileActionsDestroy(actions);
            Libc.SpawnAttrDestroy(attr);
            if (pipe[1] >= 0) Libc.Close(pipe[1]);
            if (errors[1] >= 0) Libc.Close(errors[1]);
            if (status[1] >= 0) Libc.Close(status[1]);
        }

        if (rc != 0)
        {
            if (pipe[0] >= 0) Libc.Close(pipe[0]);
            if (errors[0] >= 0) Libc.Close(errors[0]);
            if (status[0] >= 0) Libc.Close(status[0]);
            return SpawnResult.Failed(helper
                ? $"unable to start the exec helper {file}: {new Errno(rc).Message}"
                : $"cannot run {file}: {new Errno(rc).Message}", new Errno(rc).IsTransient);
        }
        return Started(pid, helper);

        // A main process's pipes are kept outside supd too (the pipe keeper), so a crash of supd does not close them.
        SpawnResult Started(int started, bool reporting)
        {
            var keep = request.KeepOutput && request.Unit is { } kept ? kept.Key : null;
            if (request.Output is not null) StartPump(pipe[0], request.Output, request.Description, Kept(keep, started, pipe[0], false));
            if (splitErrors) StartPump(errors[0], request.ErrorOutput!, request.Description + " (stderr)", Kept(keep, started, errors[0], true));
            return reporting ? SpawnResult.Reporting(started) : SpawnResult.Started(started);
        }
    }

    private string? Kept(string? keep, int pid, int fd, bool errorStream)
    {
        if (keep is null || PipeKeeper is not { } keeper) return null;
        var name = KeptPipeName.For(keep, pid, errorStream);
        keeper.Keep(name, fd);
        return name;
    }

    /// <summary>
    /// The fork server's request for this spawn: the very words and environment an exec helper of its own would get
    /// (<paramref name="helperArgv"/> less the command that starts the helper), so the server applies the same
    /// settings and strips the same runtime variables. Null when there is to be no fork server or the request does not
    /// fit one message.
    /// </summary>
    private byte[]? ForkServerRequest(IReadOnlyList<string> helperArgv, IReadOnlyList<string> helperEnvironment, bool piped,
        bool inheritConsole, bool splitErrors)
    {
        if (!UseForkServer) return null;
        var output = inheritConsole || piped ? ForkOutput.Fd : ForkOutput.Null;
        var errors = inheritConsole || splitErrors ? ForkOutput.Fd : piped ? ForkOutput.SameAsOut : ForkOutput.Null;
        return new ForkRequest([.. helperArgv.Skip(ExecHelperCommand.Count)], helperEnvironment, output, errors).Encode();
    }

    private ForkServerClient? _forkServer;

    // Under the reaper's gate: the client, made on first need (it starts no server until asked to).
    private ForkServerClient ForkServerLocked() =>
        _forkServer ??= new ForkServerClient(ExecHelperCommand, _reaper, _log, ForkServerRetryDelay);

    /// <summary>
    /// Spawns that need the exec helper go through one long-lived helper, the fork server, once it runs (see
    /// <see cref="ForkServer"/>). On unless <c>SUPD_FORK_SERVER=off</c> is in supd's environment: then each such
    /// spawn starts an exec helper of its own.
    /// </summary>
    public bool UseForkServer { get; init; } = Environment.GetEnvironmentVariable("SUPD_FORK_SERVER") != "off";

    /// <summary>After a fork server failed, how long until another is started (<see cref="Limits.ForkServerRetryDelay"/>).</summary>
    public TimeSpan ForkServerRetryDelay { get; init; } = Limits.ForkServerRetryDelay;

    public (int Pid, long Spawns, long Failures) ForkServerState
    {
        get
        {
            var (pid, spawns, failures, _) = ForkServerSnapshot();
            return (pid, spawns, failures);
        }
    }

    // The fork server's figures, read together under the Gate.
    private (int Pid, long Spawns, long Failures, bool Vfork) ForkServerSnapshot()
    {
        lock (_reaper.Gate) return _forkServer is { } server ? (server.Pid, server.Spawns, server.Failures, server.Vfork) : (0, 0, 0, false);
    }

    public string ForkServerDescription
    {
        get
        {
            if (!UseForkServer) return "off (SUPD_FORK_SERVER=off)";
            if (!Syscalls.ForThisMachine(out _)) return $"none (no system call table for {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})";
            var (pid, spawns, failures, vfork) = ForkServerSnapshot();
            var counts = $"{spawns} spawns, {failures} failures";
            return pid > 0 ? $"pid {pid} ({(vfork ? "vfork" : "fork")} clone), {counts}"
                : _forkServer is null ? "not started yet (no spawn has needed it)"
                : $"not running, {counts}";
        }
    }

    /// <summary>True once the fork server runs and said it is ready (starting it if it was not yet asked for).</summary>
    public bool ForkServerReady()
    {
        lock (_reaper.Gate)
        {
            return ForkServerLocked().EnsureReadyLocked();
        }
    }

    public (Action<string, int> Keep, Action<string> Forget)? PipeKeeper { get; set; }

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

    public bool Signal(int pid, int signal) => _reaper.Signal(pid, signal);

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

    public bool Park(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        if (!_reaper.Park(timeout)) return false;
        if (_pump.Park(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)))) return true;
        _reaper.Unpark();
        return false;
    }

    public void Unpark()
    {
        _pump.Unpark();
        _reaper.Unpark();
    }

    public IReadOnlyList<(int Fd, IOutputSink Sink)> OutputPipes() => _pump.Pipes();

    public string? UnitGroup(string key) => Containment.Group(key);

    public bool AttachOutput(int fd, IOutputSink sink, string description, string? keptAs = null)
    {
        // Inherited without close-on-exec (it crossed one): set again, so no job inherits it.
        if (!Libc.SetCloseOnExec(fd, true)) return false;
        StartPump(fd, sink, description, keptAs);
        return true;
    }

    private void StartPump(int readFd, IOutputSink sink, string description, string? keptAs = null)
    {
        var pump = _pump.Start(readFd, sink, description);
        _pumps[pump] = true;
        pump.ContinueWith(t =>
        {
            _pumps.TryRemove(t, out _);
            // Read to its end (every writer gone): the keeper's copy has nothing more to keep.
            if (keptAs is not null && t.IsCompletedSuccessfully) PipeKeeper?.Forget(keptAs);
        }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _forkServer?.Dispose();
        _reaper.Dispose();
        _pump.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not become a child subreaper ({Reason}); orphans of jobs go to init")]
    private partial void LogSubreaperFailed(string reason);
}
