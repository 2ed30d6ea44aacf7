using System.Text;
using Supervisor.Core;
using Supervisor.Core.Handover;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.State;
using Supervisor.Core.Systemd;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// Overview: <c>supctl daemon-reexec</c>. supd replaces its own image with the binary now at its path (an upgrade),
/// same pid, every job left running. In order, each step undone if a later one fails before the exec:
/// <list type="number">
/// <item>the new binary is asked which handover formats it reads (<c>--handover-formats</c>); one that does not read
/// this supd's is refused here, and this supd goes on;</item>
/// <item>the control socket stops accepting (connections wait in its backlog; it is never closed) and the calls
/// already in finish (<see cref="ActiveControlCalls"/>);</item>
/// <item>the reaper and the output pumps stop between two steps (<see cref="IProcessControl.Park"/>), and the loop,
/// once every instance is at rest, hands over its instances and stands still (<see cref="SupervisorLoop.FreezeForHandoverAsync"/>;
/// asked again for up to <see cref="SettleTimeout"/> while something is starting or stopping);</item>
/// <item>goals.json is written out, the state goes into a memfd, the reply goes back, systemd hears RELOADING=1,
/// and execve: the new image reads the state (<see cref="HandoverStart"/>), adopts the instances, and says READY=1.</item>
/// </list>
/// </summary>
public sealed partial class ReexecCoordinator(
    SupervisorLoop loop,
    IProcessControl processes,
    GuardedSocketTransport transport,
    ControlSocketLifecycle socket,
    ActiveControlCalls calls,
    PersistedGoals goals,
    HandoverStart handover,
    ILogger<ReexecCoordinator> log,
    SystemdNotifier? systemd = null)
{
    /// <summary>How long a re-exec waits for every instance to come to rest before it is refused.</summary>
    public static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(60);
    private static readonly string TextFileBusy = new Supervisor.Core.Interop.Errno(26).Message; // ETXTBSY
    private static readonly TimeSpan CallsTimeout = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Re-execs since supd was first started (0 for a fresh start).</summary>
    public int Generation { get; } = handover.State?.Generation ?? 0;

    /// <summary>When supd was first started: its uptime goes on across re-execs.</summary>
    public DateTimeOffset FirstStarted => handover.FirstStarted;

    /// <summary>Why the last re-exec that got as far as the exec failed; null when none did.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Re-execs that got as far as the exec and failed there, since this image started.</summary>
    public int Failures => Volatile.Read(ref _failures);
    private int _failures;

    /// <summary>A re-exec ready to happen: the exec is <see cref="ExecAsync"/>, once the caller has had its reply.</summary>
    /// <param name="PipesLeft">Output pipes of nobody handed over (a finished process's, still held open by a child of it): closed by the exec.</param>
    public sealed record Plan(string Path, IReadOnlyList<string> Argv, IReadOnlyList<int> Keep, int StateFd, int Instances, TaskCompletionSource Resume,
        long Started, int PipesLeft);

    /// <summary>Everything up to the exec; a refusal (<see cref="SupervisorException"/>) leaves supd as it was.</summary>
    public async Task<Plan> PrepareAsync(string by)
    {
        if (!_one.Wait(0)) throw new SupervisorException(SupervisorError.NotRunning, "a re-exec is already under way");
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            var path = HandoverStart.ImagePath ?? throw new SupervisorException(SupervisorError.NotRunning, "supd's own path is not known");
            if (!File.Exists(path)) throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {path} does not exist");
            var commandLine = SelfExec.CommandLine();
            var own = SelfExec.OwnArguments();
            var launcher = commandLine.Take(commandLine.Count - own.Count).ToList();
            if (launcher.Count == 0) throw new SupervisorException(SupervisorError.NotRunning, "cannot re-execute: supd's command line is not readable");
            await CheckFormatsAsync(path, launcher).ConfigureAwait(false);
            LogPreparing(by, path);

            // Bounded: an accept loop that never comes round again (Kestrel stopping) must not hold the re-exec forever.
            await transport.PauseAcceptingAsync().WaitAsync(CallsTimeout).ConfigureAwait(false);
            var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            IReadOnlyList<HandedInstance> instances;
            try
            {
                // The caller's own call is one of them.
                if (!await calls.WaitAsync(1, CallsTimeout).ConfigureAwait(false)) LogCallsStillActive(Math.Max(0, calls.Active - 1), calls.Fresh);
                instances = await FreezeAsync(resume.Task).ConfigureAwait(false);
            }
            catch
            {
                transport.ResumeAccepting();
                throw;
            }
            try
            {
                if (!await goals.Store.FlushAsync(CallsTimeout).ConfigureAwait(false))
                    throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {goals.Store.FilePath} could not be written in time");
                var state = new HandoverState
                {
                    BootId = ProcStat.BootId(),
                    Generation = Generation + 1,
                    FirstStarted = FirstStarted,
                    ListenFd = transport.ListenFd,
                    LockFd = socket.LockFd,
                    Instances = instances,
                    TakenAt = System.Diagnostics.Stopwatch.GetTimestamp(),
                };
                int stateFd;
                try
                {
                    stateFd = HandoverFile.Write(state);
                }
                catch (IOException e)
                {
                    throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {e.Message}");
                }
                var keep = new List<int> { state.ListenFd, state.LockFd, stateFd };
                keep.AddRange(instances.SelectMany(i => i.Pipes).Select(p => p.Fd));
                var argv = new List<string>(launcher);
                argv.AddRange(own);
                argv.Add(SelfExec.HandoverFlag);
                argv.Add(stateFd.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var handedPipes = instances.Sum(i => i.Pipes.Count);
                return new Plan(path, argv, [.. keep.Where(fd => fd >= 3)], stateFd, instances.Count, resume, started,
                    Math.Max(0, processes.OutputPipes().Count - handedPipes));
            }
            catch
            {
                Resume(resume);
                throw;
            }
        }
        catch
        {
            _one.Release();
            throw;
        }
    }

    /// <summary>After the reply went out: the exec. Returns only when it failed (logged, and supd goes on as it was).</summary>
    public async Task ExecAsync(Plan plan)
    {
        // Whatever happens here, supd must not stay frozen: the finally lets everything go on.
        string failure;
        try
        {
            // The reply is on its way once the call has ended (bounded: a caller gone meanwhile must not hold the exec
            // back); a moment more for its bytes to leave.
            await calls.WaitAsync(0, CallsTimeout).ConfigureAwait(false);
            await Task.Delay(50).ConfigureAwait(false);
            systemd?.Reloading();
            LogExecuting(plan.Path, plan.Instances, TimeProvider.System.GetElapsedTime(plan.Started).TotalMilliseconds, plan.PipesLeft);
            failure = SelfExec.Exec(plan.Path, plan.Argv, plan.Keep);
        }
        catch (Exception e)
        {
            failure = e.Message;
        }
        try
        {
            LastFailure = failure;
            Interlocked.Increment(ref _failures);
            LogExecFailed(failure);
            Supervisor.Core.Interop.Libc.Close(plan.StateFd);
            systemd?.Ready();
        }
        finally
        {
            Resume(plan.Resume);
            _one.Release();
        }
    }

    private void Resume(TaskCompletionSource resume)
    {
        resume.TrySetResult();
        processes.Unpark();
        transport.ResumeAccepting();
    }

    // The loop hands over once every instance is at rest; while one is starting or stopping it is asked again.
    private async Task<IReadOnlyList<HandedInstance>> FreezeAsync(Task resume)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (true)
        {
            if (!processes.Park(CallsTimeout))
                throw new SupervisorException(SupervisorError.NotRunning, "cannot re-execute: the reaper or an output pump did not stop (a log write is stuck?)");
            try
            {
                return await loop.FreezeForHandoverAsync(resume).ConfigureAwait(false);
            }
            catch (SupervisorException e) when (e.Error == SupervisorError.NotRunning)
            {
                processes.Unpark();
                if (TimeProvider.System.GetElapsedTime(start) > SettleTimeout)
                    throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute now: {e.Message} (waited {SettleTimeout.TotalSeconds:0}s); try again");
                await Task.Delay(50).ConfigureAwait(false);
            }
            catch
            {
                processes.Unpark();
                throw;
            }
        }
    }

    // The binary at supd's path must read what this supd writes: asked, not assumed (an older supd, or no supd at all).
    private async Task CheckFormatsAsync(string path, IReadOnlyList<string> launcher)
    {
        var output = new CollectedOutput();
        var environment = SelfExec.Environment();
        var request = new SpawnRequest($"the re-exec's check of {path}", path, [.. launcher, HandoverFlags.Formats], environment, "/", output);
        var spawned = processes.Spawn(request);
        // A binary just installed can still be open for writing for a moment (ETXTBSY: the installer, or a child
        // forked meanwhile that has not exec'd yet): asked again a few times before the re-exec is refused.
        for (var retry = 0; retry < 10 && !spawned.Succeeded && spawned.Error!.EndsWith(TextFileBusy, StringComparison.Ordinal); retry++)
        {
            await Task.Delay(100).ConfigureAwait(false);
            spawned = processes.Spawn(request);
        }
        if (!spawned.Succeeded) throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {spawned.Error}");
        try
        {
            await output.Done.Task.WaitAsync(ProbeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            processes.Signal(spawned.Pid, Signals.SIGKILL);
            throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {path} did not say which handover formats it reads within {ProbeTimeout.TotalSeconds:0}s");
        }
        var text = output.Text;
        var formats = HandoverFile.ParseFormats(text);
        if (formats.Count == 0)
            throw new SupervisorException(SupervisorError.NotRunning, $"cannot re-execute: {path} does not say which handover formats it reads (it said: {HandoverFile.Describe(text)}); supd keeps running");
        if (!formats.Contains(HandoverState.CurrentVersion))
            throw new SupervisorException(SupervisorError.NotRunning,
                $"cannot re-execute: {path} reads handover format {string.Join(", ", formats)}, this supd writes {HandoverState.CurrentVersion}; supd keeps running");
    }

    /// <summary>The probe's output, bounded (a binary that is not supd may print anything).</summary>
    private sealed class CollectedOutput : IOutputSink
    {
        private const int Max = 4096;
        private readonly MemoryStream _bytes = new();
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Text
        {
            get
            {
                lock (_bytes) return Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
            }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            lock (_bytes)
            {
                var room = Max - (int)_bytes.Length;
                if (room > 0) _bytes.Write(data[..Math.Min(room, data.Length)]);
            }
        }

        public void Completed() => Done.TrySetResult();
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Re-exec asked by {By}: {Path} reads this supd's state; stopping between steps")]
    private partial void LogPreparing(string by, string path);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Re-executing {Path} with {Instances} instances handed over ({Milliseconds:0} ms to prepare; {PipesLeft} output pipes of finished processes, still held open by their children, are closed)")]
    private partial void LogExecuting(string path, int instances, double milliseconds, int pipesLeft);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "The re-exec failed ({Failure}); supd goes on as it was")]
    private partial void LogExecFailed(string failure);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "{Calls} control calls were still being answered and {Fresh} connections had not sent theirs after 5 s; the re-exec ends them")]
    private partial void LogCallsStillActive(int calls, int fresh);
}

/// <summary>The command-line words of a re-exec.</summary>
public static class HandoverFlags
{
    /// <summary><c>supd --handover-formats</c>: prints <see cref="HandoverFile.FormatsLine"/> and exits.</summary>
    public const string Formats = "--handover-formats";
}
