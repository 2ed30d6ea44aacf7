using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// Overview: the one place supervision state lives and changes, as a thin dispatcher.
///
/// Jobs, instances, events and timers are owned by this loop and touched only from <see cref="Run"/> (the "supd-loop" thread), which
/// reads one message at a time from a channel. Process exits (from the reaper thread), deadlines, control requests and
/// emitted events are all messages (<see cref="SupervisorInput"/>); the public methods post one and await its reply.
/// Each message goes to the collaborator that owns it (docs/ARCHITECTURE.md, "The supervision loop"):
/// <see cref="InstanceLifecycle"/> (goals, states, process exits), <see cref="ControlRequests"/>,
/// <see cref="EventRouting"/> over the <see cref="EventQueue"/>, <see cref="CheckGate"/>, <see cref="PersistedGoals"/>;
/// they share a <see cref="LoopContext"/>. After each message the event queue runs to quiescence, as Upstart's
/// event_poll does. Everything slow (log pumping, gRPC, writing the state file) runs elsewhere; what may still take a
/// moment here is a spawn through the exec helper (credentials, limits), with its user-database lookups and env-files.
/// </summary>
public sealed partial class SupervisorLoop : IAsyncDisposable
{
    private readonly Channel<SupervisorInput> _inputs = Channel.CreateUnbounded<SupervisorInput>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly LoopContext _loop;
    private readonly ILogger _log;
    private readonly EventQueue _events;
    private readonly JobEvents _jobEvents;
    private readonly InstanceLifecycle _lifecycle;
    private readonly EventRouting _routing;
    private readonly CheckGate _checks;
    private readonly HealthMonitor _health;
    private readonly PersistedGoals _goals;
    private readonly ControlRequests _requests;
    private readonly LoopHandover _handover;
    private TaskCompletionSource? _shutdown;
    private Task? _running;

    public SupervisorLoop(IProcessControl processes, JobLogDirectory? logs, TimeProvider time, SupervisorOptions options, ILogger<SupervisorLoop> log)
    {
        _log = log;
        _loop = new LoopContext(processes, logs, time, options, log, Post);
        var environments = new JobEnvironment(options);
        _events = new EventQueue(e =>
        {
            _log.LogEventEmitted(e.ToString());
            _loop.Publish((sequence, at) => new EventNotification(sequence, at, e.Name, e.Environment.ToStrings()));
        });
        var spawner = new SpawnPath(_loop, environments);
        var replies = new Replies(_loop);
        // A passed check's request goes through the request handling again (built below; called only later, on the loop).
        ControlRequests? requests = null;
        _checks = new CheckGate(_loop, spawner, environments, request => requests!.HandleJobCommand(request));
        _jobEvents = new JobEvents(_events);
        InstanceLifecycle? lifecycle = null;
        _health = new HealthMonitor(_loop, spawner, environments, _jobEvents, (instance, why) => lifecycle!.RestartUnhealthy(instance, why));
        _lifecycle = lifecycle = new InstanceLifecycle(_loop, _jobEvents, spawner, environments, _checks, _health, replies);
        _routing = new EventRouting(_loop, environments, _lifecycle);
        _goals = new PersistedGoals(_loop, environments, _lifecycle, () => _inputs.Reader.TryPeek(out _));
        _requests = requests = new ControlRequests(_loop, environments, _lifecycle, _checks, _goals, _events, replies);
        _handover = new LoopHandover(_loop, environments, spawner, _health, _events);
        _goals.Survivors = _handover.Survivors;
    }

    /// <summary>
    /// Every event and state change, on the loop thread, in order. Handlers must not block or throw; they copy the
    /// notification to their own bounded queue (the event monitor does).
    /// </summary>
    public event Action<SupervisorNotification>? Notified
    {
        add => _loop.Notified += value;
        remove => _loop.Notified -= value;
    }

    /// <summary>
    /// After each turn of the loop (one input: its handling, a slice of the event queue, the goals handed to their
    /// store), on the loop thread, how long it took: how long a request may have waited behind it (for /metrics).
    /// Set before the loop starts; must not block.
    /// </summary>
    public Action<TimeSpan>? TurnTaken { get; set; }

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
    public bool IsShuttingDown => _loop.ShuttingDown;

    /// <summary>
    /// Completes when a job with the <c>critical</c> stanza fails for good: it came to rest (waiting) with a failure, be
    /// it a process failure that stopped it or its respawn limit. The host acts on it (supd stops everything and exits
    /// non-zero); the loop only reports it, once, for the first such job.
    /// </summary>
    public Task<CriticalJobFailure> CriticalFailure => _lifecycle.CriticalFailure;

    /// <summary>Variables from callers without admin that a job did not accept (dropped from events), since start.</summary>
    public long DroppedVariables => _routing.DroppedVariables;

    /// <summary>
    /// Starts the reaper and the loop; the returned task ends when the loop stops (or faults on a bug). With
    /// <paramref name="handover"/> (an image a re-exec started), its children are followed before the reaper starts,
    /// and an exit of one reaped before <see cref="AdoptAsync"/> waits for it.
    /// </summary>
    public Task StartAsync(CancellationToken stoppingToken, Handover.HandoverState? handover = null)
    {
        if (handover is not null)
        {
            _handover.AwaitingAdoption = true;
            foreach (var instance in handover.Instances)
            {
                // Not an adopted one (not supd's child): Adopt follows it as foreign, when its instance is taken back.
                if (instance.MainPid > 1 && instance.AdoptedAt is null && _loop.Processes.StartTimeOf(instance.MainPid) == instance.MainStartTime
                    && _loop.Processes.Adopt(instance.MainPid))
                    _handover.Followed.Add(instance.MainPid);
            }
        }
        // Not Post: once the loop has stopped (or failed) an exit has nobody to tell, and the reaper thread must not throw.
        _loop.Processes.Start(exit => Enqueue(new ChildExitedInput(exit)), report => Enqueue(new SpawnReportedInput(report)));
        // A thread of its own, as the reaper and the output pumps have: a bring-up keeps the loop busy for seconds, and
        // on a thread-pool thread that would leave the requests (Kestrel, gRPC, replies) one pool thread on a 2-core
        // machine, and waiting for the pool to grow (about one thread a second) whenever anything else holds it.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stoppingToken);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        { IsBackground = true, Name = "supd-loop" };
        thread.Start();
        _running = done.Task;
        return _running;
    }

    private void Run(CancellationToken stoppingToken)
    {
        var reader = _inputs.Reader;
        try
        {
            while (true)
            {
                if (!reader.TryRead(out var input))
                {
                    // Nothing queued: this thread sleeps until an input comes (or the channel is closed).
                    if (!reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult()) return;
                    continue;
                }
                Interlocked.Decrement(ref _queued);
                var turn = Stopwatch.GetTimestamp();
                if (input is LeaveInput leave)
                {
                    Leave(leave);
                    return;
                }
                Take(input);
                TurnTaken?.Invoke(Stopwatch.GetElapsedTime(turn));
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

    // One turn of the loop: the queries waiting, then the input, then the event queue for a slice or to quiescence.
    private void Take(SupervisorInput input)
    {
        // Queries (status, list…) change nothing, so they go before whatever was queued ahead of them: a
        // bring-up of 1000 jobs (a report and a cascade each) never holds up a `supctl status`.
        AnswerQueries();
        if (input is QueryInput)
        {
            // A query can be the last input of a burst whose saves were put off (inputs waiting): save now, or the
            // goals and survivors of the burst's end would wait for the next change.
            _goals.SaveIfDirty();
            return;
        }
        if (input is ContinueEventsInput) _continueQueued = false;
        else Dispatch(input);
        // After each message the event queue runs, as Upstart's event_poll does: to quiescence, or for one
        // slice when there is more, which a ContinueEventsInput behind the inputs already waiting picks up.
        if (PollEvents())
        {
            if (!_continueQueued) _continueQueued = Enqueue(new ContinueEventsInput());
            return;
        }
        _loop.RunAfterSettling();
        _loop.Registry.ForgetRemovedJobs();
        _goals.SaveIfDirty();
        CheckShutdownComplete();
    }

    // A ContinueEventsInput is in the channel: the event queue has more to do once the inputs ahead of it are handled.
    private bool _continueQueued;

    /// <summary>One poll of the event queue, cut after <see cref="SupervisorOptions.EventPollSlice"/>; true when work is left.</summary>
    private bool PollEvents()
    {
        var slice = _loop.Options.EventPollSlice;
        if (slice == Timeout.InfiniteTimeSpan) return _events.Poll(_routing.Handle);
        var until = Stopwatch.GetTimestamp() + (long)(slice.TotalSeconds * Stopwatch.Frequency);
        return _events.Poll(_routing.Handle, () => Stopwatch.GetTimestamp() >= until);
    }

    // Read-only requests, answered before the next input (AnswerQueries); a QueryInput in the channel wakes the loop.
    private readonly System.Collections.Concurrent.ConcurrentQueue<SupervisorInput> _queries = new();

    private static bool IsQuery(SupervisorInput input) => input is ListInput or StatusInput or DefinitionsInput or LogPathInput;

    private void AnswerQueries()
    {
        while (_queries.TryDequeue(out var query)) Dispatch(query);
    }

    private void Post(SupervisorInput input)
    {
        if (_loop.Options.QueriesFirst && IsQuery(input))
        {
            _queries.Enqueue(input);
            input = new QueryInput();
        }
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

    /// <summary>
    /// Emits <c>startup</c> and the configured boot events, marked as the boot's (<see cref="Event.Boot"/>): an instance
    /// stopped by hand before supd restarted is not started by them. Does not wait for them to finish.
    /// </summary>
    public Task EmitBootEventsAsync(IReadOnlyList<(string Name, string[] Environment)> events) =>
        Ask(r => new BootEventsInput(events, r));

    /// <summary>
    /// Applies goals saved by an earlier supd, before the boot events (see <see cref="PersistedGoals"/>); from then on
    /// every change is handed to <paramref name="store"/>.
    /// </summary>
    public Task RestoreGoalsAsync(GoalState state, IGoalStore store, string bootId) =>
        Ask(r => new RestoreGoalsInput(state, store, bootId, r));

    /// <summary>
    /// Applies job files read again (SIGHUP, <c>supctl reload-configuration</c>): new jobs appear, removed jobs are
    /// stopped and forgotten, changed jobs take the new definition at their next start. A job whose file was rejected
    /// keeps its previous good definition.
    /// </summary>
    public Task<ConfigurationChanges> ReloadConfigurationAsync(JobLoadResult loaded) =>
        Ask<ConfigurationChanges>(r => new ReloadConfigurationInput(loaded, r));

    /// <summary>
    /// A re-exec: with the reaper and pumps parked (<see cref="IProcessControl.Park"/>), the instances to hand over, or
    /// a refusal (<see cref="SupervisorError.NotRunning"/>) saying what is not at rest. Once it has answered, the loop
    /// stands still until <paramref name="resume"/> completes, which only happens when the exec failed.
    /// </summary>
    public Task<IReadOnlyList<Handover.HandedInstance>> FreezeForHandoverAsync(Task resume) =>
        Ask<IReadOnlyList<Handover.HandedInstance>>(r => new HandoverInput(resume, r));

    /// <summary>In the image a re-exec started: the instances handed over taken back, after <see cref="LoadAsync"/>; problems, one line each.</summary>
    public Task<IReadOnlyList<string>> AdoptAsync(Handover.HandoverState state) =>
        Ask<IReadOnlyList<string>>(r => new AdoptInput(state, r));

    /// <summary>
    /// After a restart of supd (not a re-exec): the instances the previous supd recorded as running on (goals.json's
    /// survivors), each checked by the caller and given the pipes the keeper held, taken back with their processes
    /// followed (not supd's children) and marked adopted. Before the goals are restored and the boot events emitted.
    /// </summary>
    public Task<IReadOnlyList<string>> AdoptAfterRestartAsync(Handover.HandoverState state) =>
        Ask<IReadOnlyList<string>>(r => new AdoptInput(state, r, AfterRestart: true));

    /// <summary>Stops every job; completes when no instance is left. Bound it with <see cref="KillEverythingAsync"/>.</summary>
    public Task ShutdownAsync() => Ask(r => new ShutdownInput(r));

    /// <summary>SIGKILLs the process group of every process still alive (the end of a shutdown that ran out of time).</summary>
    public Task KillEverythingAsync() => Ask(r => new KillEverythingInput(r));

    // One message at a time, on the loop thread: each kind of input goes to the collaborator that owns it.
    private void Dispatch(SupervisorInput input)
    {
        switch (input)
        {
            case ChildExitedInput x:
                if (!_loop.Registry.Processes.ContainsKey(x.Exit.Pid) && _handover.HoldEarlyExit(x.Exit)) break;
                _lifecycle.OnChildExited(x.Exit);
                break;
            case SpawnReportedInput x: _lifecycle.OnSpawnReported(x.Report); break;
            case DeadlineReachedInput x: _lifecycle.OnDeadlineReached(x.Instance, x.Generation); break;
            case CheckTimerFiredInput x: _checks.OnTimeout(x.Instance, x.Check); break;
            case HealthTimerFiredInput x: _health.OnTimer(x.Instance, x.Generation); break;
            case LoadJobsInput x: Reply(x.Reply, () => LoadJobs(x.Jobs), settled: true); break;
            case ListInput x: Reply(x.Reply, _requests.List); break;
            case DefinitionsInput x: Reply(x.Reply, () => _requests.Definitions(x.Job)); break;
            case StatusInput x: Reply(x.Reply, () => _requests.Status(x.Job, x.Environment, x.Instance)); break;
            case JobCommandInput x: _requests.HandleJobCommand(x); break;
            case EmitInput x: _requests.HandleEmit(x); break;
            case ReloadConfigurationInput x: Reply(x.Reply, () => ReloadConfiguration(x.Loaded), settled: true); break;
            case RestoreGoalsInput x: Reply(x.Reply, () => _goals.Restore(x.State, x.Store, x.BootId), settled: true); break;
            case BootEventsInput x: Reply(x.Reply, () => _jobEvents.EmitBootEvents(x.Events), settled: true); break;
            case DisableInput x: Reply(x.Reply, () => x.Enable ? _goals.Enable(x.Job, x.By) : _goals.Disable(x.Job, x.By), settled: true); break;
            case LogPathInput x: Reply(x.Reply, () => _requests.LogPath(x.Job, x.Environment, x.Instance)); break;
            case ShutdownInput x: BeginShutdown(x.Reply); break;
            case KillEverythingInput x: Reply(x.Reply, KillEverything); break;
            case HandoverInput x: Freeze(x); break;
            case AdoptInput x: Reply(x.Reply, () => _handover.Adopt(x.State, _loop.Processes.AttachOutput, _lifecycle.OnChildExited, x.AfterRestart)); break;
            default: throw new InvalidOperationException($"Unknown input {input.GetType().Name}");
        }
    }

    // Refusals (SupervisorException) go back to the caller at once; anything else is a bug and stops the loop.
    // settled: a request that changes something is answered once what it set off has settled (the event queue
    // quiescent), as when the queue always ran to quiescence after each input: the caller's next request sees it done,
    // even where the cascade took several slices (ready after the boot events, reload-configuration, enable).
    private void Reply<T>(TaskCompletionSource<T> reply, Func<T> handler, bool settled = false)
    {
        try
        {
            var result = handler();
            if (settled) _loop.AfterSettling(() => reply.TrySetResult(result));
            else reply.TrySetResult(result);
        }
        catch (SupervisorException e)
        {
            reply.TrySetException(e);
        }
    }

    private void Reply(TaskCompletionSource reply, Action handler, bool settled = false)
    {
        try
        {
            handler();
            if (settled) _loop.AfterSettling(() => reply.TrySetResult());
            else reply.TrySetResult();
        }
        catch (SupervisorException e)
        {
            reply.TrySetException(e);
        }
    }

    private void LoadJobs(IReadOnlyList<JobDefinition> jobs)
    {
        var loaded = _loop.Registry.Jobs;
        foreach (var definition in jobs)
        {
            if (loaded.TryGetValue(definition.Name, out var existing) && existing.Instances.Count > 0)
                continue; // running instances keep their definition; reloading configuration is its own feature
            loaded[definition.Name] = new JobClass(definition);
        }
        _log.LogJobsLoaded(jobs.Count);
    }

    // supd exits and its jobs run on: what runs is saved for the next supd to adopt (goals.json's survivors), and the
    // loop ends here, so nothing it would do next (a respawn, a kill) starts a process nobody records.
    private void Leave(LeaveInput input)
    {
        AnswerQueries();
        _loop.Goals.Dirty = true;
        _goals.SaveIfDirty(now: true);
        _log.LogLeavingJobs(_loop.Registry.LiveInstances);
        input.Reply.TrySetResult();
    }

    /// <summary>
    /// supd is about to exit leaving its jobs running, for the next supd to adopt (<c>systemctl restart</c>, SIGUSR2):
    /// the instances that run on are saved with the goals, and the loop ends (after this, no input is handled). Park
    /// the reaper and pumps first (<see cref="IProcessControl.Park"/>), so no output read is left unwritten.
    /// </summary>
    public Task LeaveJobsRunningAsync() => Ask(r => new LeaveInput(r));

    // The loop thread stands still here from the snapshot to the exec, so nothing it hands over can change; if the exec
    // fails, it goes on where it was.
    private void Freeze(HandoverInput input)
    {
        AnswerQueries();
        if (_handover.NotReady() is { } why)
        {
            input.Reply.TrySetException(new SupervisorException(SupervisorError.NotRunning, why));
            return;
        }
        IReadOnlyList<Handover.HandedInstance> instances;
        try
        {
            instances = _handover.Snapshot(_loop.Processes.OutputPipes());
        }
        catch (SupervisorException e)
        {
            input.Reply.TrySetException(e);
            return;
        }
        // The next image restores goals from the file: it must hold what this one did up to now (no burst throttle).
        _goals.SaveIfDirty(now: true);
        input.Reply.TrySetResult(instances);
        input.Resume.Wait();
    }

    private void BeginShutdown(TaskCompletionSource reply)
    {
        _shutdown ??= reply;
        _loop.ShuttingDown = true;
        if (!ReferenceEquals(_shutdown, reply)) _shutdown.Task.ContinueWith(_ => reply.TrySetResult(), TaskScheduler.Default);
        // After the shutdown event (runlevel 0) has stopped the jobs that stop on it, say what is left, not "stopping 0".
        var live = _loop.Registry.LiveInstances;
        if (live == 0) _log.LogShutdownNothingLeft();
        else _log.LogShutdown(live);
        foreach (var instance in _loop.Registry.AllInstances())
        {
            // A pre-start or post-start would hold the stop until it ends by itself: end it now.
            foreach (var kind in new[] { ProcessKind.PreStart, ProcessKind.PostStart })
            {
                if (instance.Pids.TryGetValue(kind, out var pid))
                    _loop.Processes.SignalGroup(pid, instance.Definition.KillSignal);
            }
            _lifecycle.ChangeGoal(instance, JobGoal.Stop);
        }
    }

    private void CheckShutdownComplete()
    {
        if (_shutdown is not null && !_shutdown.Task.IsCompleted && _loop.Registry.LiveInstances == 0)
            _shutdown.TrySetResult();
    }

    private void KillEverything()
    {
        foreach (var (pid, (instance, kind)) in _loop.Registry.Processes)
        {
            _log.LogKillEverything(instance.DisplayName, kind.Name(), pid);
            _loop.Processes.SignalGroup(pid, Signals.SIGKILL);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _inputs.Writer.TryComplete();
        if (_running is not null)
        {
            try { await _running.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            catch (InvalidOperationException) when (_failed) { } // reported through StartAsync's task
        }
        _loop.Processes.Dispose();
    }
}
