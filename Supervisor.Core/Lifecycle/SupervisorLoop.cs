using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Overview: the one place supervision state lives and changes.
///
/// Jobs, instances, events and timers are owned by this loop and touched only from <see cref="RunAsync"/>, which
/// reads one message at a time from a channel. Process exits (from the reaper thread), timer expiries, control
/// requests and emitted events are all messages (<see cref="SupervisorInput"/>); the public methods post one and
/// await its reply. After each message the event queue is run to quiescence, as Upstart's event_poll does.
/// Nothing here blocks: spawning is a posix_spawn call, and everything slow (log pumping, gRPC) runs elsewhere.
///
/// The partial files split the loop by concern: Lifecycle (goals, states, process exits), Events (emit, match,
/// finish), Requests (control commands and queries).
/// </summary>
public sealed partial class SupervisorLoop : IAsyncDisposable
{
    private readonly Channel<SupervisorInput> _inputs = Channel.CreateUnbounded<SupervisorInput>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly IProcessControl _processes;
    private readonly JobLogDirectory? _logs;
    private readonly TimeProvider _time;
    private readonly SupervisorOptions _options;
    private readonly ILogger _log;

    private readonly SortedDictionary<string, JobClass> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (JobInstance Instance, ProcessKind Kind)> _processesByPid = [];
    private readonly Queue<Event> _pendingEvents = new();
    private readonly List<Event> _handlingEvents = [];
    private long _nextEventId;
    private long _nextSequence;
    private readonly List<Action> _afterSettling = [];
    private TaskCompletionSource? _shutdown;
    private Task? _running;

    public SupervisorLoop(IProcessControl processes, JobLogDirectory? logs, TimeProvider time, SupervisorOptions options, ILogger<SupervisorLoop> log)
    {
        _processes = processes;
        _logs = logs;
        _time = time;
        _options = options;
        _log = log;
        _status = new StatusProjection(logs, _goals, time);
    }

    private readonly StatusProjection _status;

    /// <summary>
    /// Every event and state change, on the loop thread, in order. Handlers must not block or throw; they copy the
    /// notification to their own bounded queue (the event monitor does).
    /// </summary>
    public event Action<SupervisorNotification>? Notified;

    private void Publish(Func<long, DateTimeOffset, SupervisorNotification> make)
    {
        _goals.Dirty = true; // a state change may have spawned or ended a process the state file lists
        var handlers = Notified;
        if (handlers is null) return;
        handlers(make(++_nextSequence, _time.GetUtcNow()));
    }

    /// <summary>Messages waiting for the loop (requests, exits, timers): its backlog, read from any thread (for /metrics).</summary>
    public int QueueLength => Math.Max(0, Volatile.Read(ref _queued));

    // The channel cannot count with a single reader: writes add one, the loop takes one per message it reads.
    private int _queued;

    private bool Enqueue(SupervisorInput input)
    {
        Interlocked.Increment(ref _queued); // before the write, so the loop's decrement never comes first
        if (_inputs.Writer.TryWrite(input)) return true;
        Interlocked.Decrement(ref _queued);
        return false;
    }

    /// <summary>True once a shutdown was requested: events no longer start jobs and start requests are refused.</summary>
    public bool IsShuttingDown => _shutdown is not null;

    /// <summary>Starts the reaper and the loop; the returned task ends when the loop stops (or faults on a bug).</summary>
    public Task StartAsync(CancellationToken stoppingToken)
    {
        // Not Post: once the loop has stopped (or failed) an exit has nobody to tell, and the reaper thread must not throw.
        _processes.Start(exit => Enqueue(new ChildExitedInput(exit)));
        _running = Task.Run(() => RunAsync(stoppingToken), CancellationToken.None);
        return _running;
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var input in _inputs.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                Interlocked.Decrement(ref _queued);
                Dispatch(input);
                PollEvents();
                RunAfterSettling();
                ForgetRemovedJobs();
                SaveGoalsIfDirty();
                CheckShutdownComplete();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            OnLoopFailed();
            throw new InvalidOperationException("The supervision loop failed", e);
        }
    }

    private void Post(SupervisorInput input)
    {
        if (!Enqueue(input))
            throw new SupervisorException(SupervisorError.ShuttingDown, _failed ? LoopFailedMessage : "supd is shutting down");
    }

    private Task<T> Ask<T>(Func<TaskCompletionSource<T>, SupervisorInput> make)
    {
        var reply = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        return Unanswered(reply, reply.Task, e => reply.TrySetException(e), () => Post(make(reply)));
    }

    private Task Ask(Func<TaskCompletionSource, SupervisorInput> make)
    {
        var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return Unanswered(reply, reply.Task, e => reply.TrySetException(e), () => Post(make(reply)));
    }

    // Every request waits in _unanswered until its reply is set, so a loop that fails can refuse all of them at once
    // instead of leaving callers (gRPC calls, the host's shutdown) waiting for a reply that will never come.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<object, Action<Exception>> _unanswered = new();

    private TTask Unanswered<TTask>(object reply, TTask task, Action<Exception> fail, Action post) where TTask : Task
    {
        _unanswered[reply] = fail;
        try
        {
            post();
        }
        catch
        {
            _unanswered.TryRemove(reply, out _);
            throw;
        }
        task.ContinueWith((done, key) => _unanswered.TryRemove(key!, out _), reply, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    // ---- The public API: each call is one message and its reply. ----

    public Task LoadAsync(IReadOnlyList<JobDefinition> jobs) => Ask(r => new LoadJobsInput(jobs, r));

    public Task<IReadOnlyList<JobStatusSnapshot>> ListAsync() => Ask<IReadOnlyList<JobStatusSnapshot>>(r => new ListInput(r));

    /// <summary>The loaded job definitions, by name; refused with <c>Unknown job</c> when <paramref name="job"/> is not one of them.</summary>
    public Task<IReadOnlyList<JobDefinition>> DefinitionsAsync(string? job = null) =>
        Ask<IReadOnlyList<JobDefinition>>(r => new DefinitionsInput(job, r));

    /// <param name="instance">Selects the instance by name; null selects it through the job's instance stanza and <paramref name="environment"/>.</param>
    public Task<JobStatusSnapshot> StatusAsync(string job, IReadOnlyList<string> environment, string? instance = null) =>
        Ask<JobStatusSnapshot>(r => new StatusInput(job, environment, instance, r));

    /// <summary>Starts a job; with <paramref name="wait"/>, completes when a service runs or a task has finished.</summary>
    /// <param name="restricted">The name of a caller without admin (its variables are checked by <see cref="Access.VariablePolicy"/>); null for one with it.</param>
    /// <param name="by">Who asks ("alice (uid 1000)"), for show; null: supd itself.</param>
    public Task<JobStatusSnapshot?> StartAsync(string job, IReadOnlyList<string> environment, bool wait = true, string? instance = null, string? restricted = null, string? by = null) =>
        Ask<JobStatusSnapshot?>(r => new JobCommandInput(JobCommand.Start, job, environment, wait, instance, r, Restricted: restricted, By: by));

    public Task<JobStatusSnapshot?> StopAsync(string job, IReadOnlyList<string> environment, bool wait = true, string? instance = null, string? restricted = null, string? by = null) =>
        Ask<JobStatusSnapshot?>(r => new JobCommandInput(JobCommand.Stop, job, environment, wait, instance, r, Restricted: restricted, By: by));

    /// <summary>
    /// Restarts a job, after its <c>check</c> passed (unless <paramref name="noCheck"/>); a failed check is refused. The
    /// new run gets <paramref name="environment"/> as its variables, none if empty (Upstart 1.12).
    /// </summary>
    public Task<JobStatusSnapshot?> RestartAsync(string job, IReadOnlyList<string> environment, bool wait = true, string? instance = null, bool noCheck = false, string? restricted = null, string? by = null) =>
        Ask<JobStatusSnapshot?>(r => new JobCommandInput(JobCommand.Restart, job, environment, wait, instance, r, noCheck, restricted, by));

    /// <summary><c>supctl disable</c>: no event starts the job until it is enabled (persisted); an explicit start still does.</summary>
    public Task<JobStatusSnapshot> DisableAsync(string job, string? by = null) => Ask<JobStatusSnapshot>(r => new DisableInput(job, false, by, r));

    public Task<JobStatusSnapshot> EnableAsync(string job, string? by = null) => Ask<JobStatusSnapshot>(r => new DisableInput(job, true, by, r));

    /// <summary>The log file of an instance, running or finished (empty without a log directory).</summary>
    public Task<string> LogPathAsync(string job, IReadOnlyList<string> environment, string? instance = null) =>
        Ask<string>(r => new LogPathInput(job, environment, instance, r));

    /// <summary>Sends the job's reload signal to its main process, after its <c>check</c> passed (unless <paramref name="noCheck"/>).</summary>
    public Task<JobStatusSnapshot?> ReloadAsync(string job, IReadOnlyList<string> environment, string? instance = null, bool noCheck = false) =>
        Ask<JobStatusSnapshot?>(r => new JobCommandInput(JobCommand.Reload, job, environment, false, instance, r, noCheck));

    /// <summary>Emits an event; with <paramref name="wait"/>, completes when the event has finished (spec §8).</summary>
    public Task EmitAsync(string name, IReadOnlyList<string> environment, bool wait = true, string? restricted = null) =>
        Ask(r => new EmitInput(name, environment, wait, r, restricted));

    /// <summary>Stops every job; completes when no instance is left. Bound it with <see cref="KillEverythingAsync"/>.</summary>
    public Task ShutdownAsync() => Ask(r => new ShutdownInput(r));

    /// <summary>SIGKILLs the process group of every process still alive (the end of a shutdown that ran out of time).</summary>
    public Task KillEverythingAsync() => Ask(r => new KillEverythingInput(r));

    private void Dispatch(SupervisorInput input)
    {
        switch (input)
        {
            case ChildExitedInput x: OnChildExited(x.Exit); break;
            case DeadlineReachedInput x: OnDeadlineReached(x.Instance, x.Generation); break;
            case CheckTimerFiredInput x: OnCheckTimeout(x.Instance, x.Check); break;
            case LoadJobsInput x: Reply(x.Reply, () => LoadJobs(x.Jobs)); break;
            case ListInput x: Reply(x.Reply, List); break;
            case DefinitionsInput x: Reply(x.Reply, () => Definitions(x.Job)); break;
            case StatusInput x: Reply(x.Reply, () => Status(x.Job, x.Environment, x.Instance)); break;
            case JobCommandInput x: HandleJobCommand(x); break;
            case EmitInput x: HandleEmit(x); break;
            case ReloadConfigurationInput x: Reply(x.Reply, () => ReloadConfiguration(x.Loaded)); break;
            case RestoreGoalsInput x: Reply(x.Reply, () => RestoreGoals(x.State, x.Store, x.BootId)); break;
            case BootEventsInput x: Reply(x.Reply, () => EmitBootEvents(x.Events)); break;
            case DisableInput x: Reply(x.Reply, () => x.Enable ? Enable(x.Job, x.By) : Disable(x.Job, x.By)); break;
            case LogPathInput x: Reply(x.Reply, () => LogPath(x.Job, x.Environment, x.Instance)); break;
            case ShutdownInput x: BeginShutdown(x.Reply); break;
            case KillEverythingInput x: Reply(x.Reply, KillEverything); break;
            default: throw new InvalidOperationException($"Unknown input {input.GetType().Name}");
        }
    }

    // Refusals (SupervisorException) go back to the caller; anything else is a bug and stops the loop.
    private static void Reply<T>(TaskCompletionSource<T> reply, Func<T> handler)
    {
        try
        {
            reply.TrySetResult(handler());
        }
        catch (SupervisorException e)
        {
            reply.TrySetException(e);
        }
    }

    private static void Reply(TaskCompletionSource reply, Action handler)
    {
        try
        {
            handler();
            reply.TrySetResult();
        }
        catch (SupervisorException e)
        {
            reply.TrySetException(e);
        }
    }

    private IReadOnlyList<JobDefinition> Definitions(string? job)
    {
        if (job is not null) FindClass(job);
        return _jobs.Values.Select(c => c.Definition).ToList();
    }

    private void LoadJobs(IReadOnlyList<JobDefinition> jobs)
    {
        foreach (var definition in jobs)
        {
            if (_jobs.TryGetValue(definition.Name, out var existing) && existing.Instances.Count > 0)
                continue; // running instances keep their definition; reloading configuration is its own feature
            _jobs[definition.Name] = new JobClass(definition);
        }
        LogJobsLoaded(jobs.Count);
    }

    private void BeginShutdown(TaskCompletionSource reply)
    {
        _shutdown ??= reply;
        if (!ReferenceEquals(_shutdown, reply)) _shutdown.Task.ContinueWith(_ => reply.TrySetResult(), TaskScheduler.Default);
        // After the shutdown event (runlevel 0) has stopped the jobs that stop on it, say what is left, not "stopping 0".
        var live = _jobs.Values.Sum(c => c.Instances.Count);
        if (live == 0) LogShutdownNothingLeft();
        else LogShutdown(live);
        foreach (var instance in AllInstances())
        {
            // A pre-start or post-start would hold the stop until it ends by itself: end it now.
            foreach (var kind in new[] { ProcessKind.PreStart, ProcessKind.PostStart })
            {
                if (instance.Pids.TryGetValue(kind, out var pid))
                    _processes.SignalGroup(pid, instance.Definition.KillSignal);
            }
            ChangeGoal(instance, JobGoal.Stop);
        }
    }

    /// <summary>Runs <paramref name="action"/> once the current input and the events it caused have been handled.</summary>
    private void AfterSettling(Action action) => _afterSettling.Add(action);

    private void RunAfterSettling()
    {
        if (_afterSettling.Count == 0) return;
        var actions = _afterSettling.ToArray();
        _afterSettling.Clear();
        foreach (var action in actions) action();
    }

    private void CheckShutdownComplete()
    {
        if (_shutdown is not null && !_shutdown.Task.IsCompleted && !_jobs.Values.Any(c => c.Instances.Count > 0))
            _shutdown.TrySetResult();
    }

    private void KillEverything()
    {
        foreach (var (pid, (instance, kind)) in _processesByPid)
        {
            LogKillEverything(instance.DisplayName, kind.Name(), pid);
            _processes.SignalGroup(pid, Signals.SIGKILL);
        }
    }

    private IEnumerable<JobInstance> AllInstances() => _jobs.Values.SelectMany(c => c.Instances.Values).ToList();

    public async ValueTask DisposeAsync()
    {
        _inputs.Writer.TryComplete();
        if (_running is not null)
        {
            try { await _running.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            catch (InvalidOperationException) when (_failed) { } // reported through StartAsync's task
        }
        _processes.Dispose();
    }
}
