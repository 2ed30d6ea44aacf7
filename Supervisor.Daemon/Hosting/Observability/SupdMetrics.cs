using Prometheus;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Containment;
using Supervisor.Daemon.Access;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// /metrics: supd's state in the Prometheus text format, through prometheus-net (its own registry: no default process
/// or .NET metrics). A scrape asks the loop for one status list (<see cref="SupervisorLoop.ListAsync"/>, the same
/// request <c>supctl list</c> makes) and sets each series from it, off the loop; scrapes run one at a time. Series per
/// job and instance (the first <see cref="Limits.MaxObservedInstances"/> in the list's order; the rest counted in
/// <c>supd_observed_instances_omitted</c>); a series whose instance is gone is removed. Names: <c>supd_</c>,
/// base units (seconds, bytes), counters end in <c>_total</c>.
/// </summary>
public sealed class SupdMetrics
{
    // Not "job" and "instance": Prometheus gives every scraped series those two target labels (and would rename ours
    // to exported_job, exported_instance). The journald fields are named alike (SUPD_JOB, SUPD_INSTANCE).
    private static readonly string[] InstanceLabels = ["supd_job", "supd_instance"];

    private readonly SupervisorLoop _loop;
    private readonly RequestCounters _requests;
    private readonly IJobContainment _containment;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly SemaphoreSlim _scraping = new(1, 1);
    private long _eventsEmitted;

    // Per instance.
    private readonly Gauge _up, _failed, _state, _goal, _lastExit, _startTime, _memory, _healthy;
    private readonly Counter _restarts, _logWritten, _logDropped, _cpu;
    // supd's own.
    private readonly Gauge _jobs, _instances, _omitted, _queue, _uptime, _startedAt;
    private readonly Counter _events, _served, _denied, _journalSent, _journalDropped, _controlRefused, _httpRefused;
    private readonly Counter _forkSpawns, _forkFailures;
    private readonly IProcessControl _processes;
    private readonly Histogram _turns;
    private readonly ConnectionGuard _control;
    private readonly HttpConnectionGate _http;
    private readonly JournalTarget _journal;

    // What the previous scrape described: (job, instance) → its state and goal labels, removed when they change or go.
    private Dictionary<(string Job, string Instance), (string State, string Goal)> _described = [];

    public SupdMetrics(SupervisorLoop loop, RequestCounters requests, IJobContainment containment, JournalTarget journal,
        ConnectionGuard control, HttpConnectionGate http, TimeProvider time, IProcessControl processes, HandoverStart? handover = null)
    {
        _processes = processes;
        _loop = loop;
        _requests = requests;
        _containment = containment;
        _journal = journal;
        _control = control;
        _http = http;
        _time = time;
        // supd's start, not this image's: a re-exec does not restart supd (nor its uptime).
        _started = handover?.IsReexec == true ? handover.FirstStarted : time.GetUtcNow();
        var f = Metrics.WithCustomRegistry(_registry);

        _up = f.CreateGauge("supd_job_up", "1 while the instance is running (state running), else 0.", InstanceLabels);
        _failed = f.CreateGauge("supd_job_failed", "1 when the instance's last run failed (a process failure or its respawn limit; what status shows as failed), else 0.", InstanceLabels);
        _state = f.CreateGauge("supd_job_state", "The instance's state (Upstart's name, or respawning) as a label; always 1.", [.. InstanceLabels, "state"]);
        _goal = f.CreateGauge("supd_job_goal", "The instance's goal (start or stop) as a label; always 1.", [.. InstanceLabels, "goal"]);
        _restarts = f.CreateCounter("supd_job_restarts_total", "Respawns of the instance since it was created.", InstanceLabels);
        _lastExit = f.CreateGauge("supd_job_last_exit_status", "How a process of the instance last ended: its exit status, 128+N for signal N, -1 if it could not be spawned. Absent before any exit.", InstanceLabels);
        _startTime = f.CreateGauge("supd_job_start_time_seconds", "When the running main process started, Unix time. Absent while none runs.", InstanceLabels);
        _logWritten = f.CreateCounter("supd_job_log_written_bytes_total", "Bytes of the instance's output written to its log since supd started.", InstanceLabels);
        _logDropped = f.CreateCounter("supd_job_log_dropped_bytes_total", "Bytes of the instance's output its log could not take (disk full, unwritable) since supd started.", InstanceLabels);
        _cpu = f.CreateCounter("supd_job_cpu_seconds_total", "CPU time (user and system) of the instance's start: its cgroup's, else its live processes' summed (as supctl show). Absent while no main process runs.", InstanceLabels);
        _healthy = f.CreateGauge("supd_job_healthy", "1 once the instance's health check passed, 0 while it is unhealthy (until a check passes). Absent without a health check and before its first verdict.", InstanceLabels);
        _memory = f.CreateGauge("supd_job_memory_bytes", "Memory of the instance's start: its cgroup's memory.current, else its live processes' resident sets summed. Absent while no main process runs.", InstanceLabels);

        _jobs = f.CreateGauge("supd_jobs", "Jobs loaded.");
        _instances = f.CreateGauge("supd_instances", "Instances alive, and jobs without one (what supctl list shows).");
        _omitted = f.CreateGauge("supd_observed_instances_omitted", $"Instances not described here: over {Limits.MaxObservedInstances}, the bound on per-instance series.");
        _events = f.CreateCounter("supd_events_emitted_total", "Events emitted since supd started (job events, boot events, supctl emit).");
        _served = f.CreateCounter("supd_requests_total", "Control requests allowed and served since supd started, by verb.", "verb");
        _denied = f.CreateCounter("supd_requests_denied_total", "Control requests denied (access rules) since supd started, by verb.", "verb");
        _queue = f.CreateGauge("supd_loop_queue_length", "Messages waiting for the supervision loop (requests, process exits, timers).");
        _turns = f.CreateHistogram("supd_loop_turn_duration_seconds",
            "Time the supervision loop spent on one message (its handling, one slice of the event queue, saving goals): how long a request may have waited behind it.",
            new HistogramConfiguration { Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _journalSent = f.CreateCounter("supd_journal_entries_total", "Log lines sent to journald (--log-to-journal) since supd started.");
        _journalDropped = f.CreateCounter("supd_journal_dropped_total", "Log lines journald could not take at once (dropped, never waited for) since supd started.");
        _controlRefused = f.CreateCounter("supd_control_connections_refused_total", "Connections to the control socket refused (connection limits, the fd reserve) since supd started.");
        _forkSpawns = f.CreateCounter("supd_fork_server_spawns_total", "Job processes the fork server cloned since this image of supd started (the rest of those needing the exec helper started one of their own).");
        _forkFailures = f.CreateCounter("supd_fork_server_failures_total", "Times the fork server failed (did not start, ended, stopped answering) and was replaced, since this image of supd started.");
        _httpRefused = f.CreateCounter("supd_http_connections_refused_total", "Connections to the HTTP listener refused (over its connection limit) since supd started.");
        _uptime = f.CreateGauge("supd_uptime_seconds", "Seconds since supd started.");
        _startedAt = f.CreateGauge("supd_start_time_seconds", "When supd started, Unix time.");

        // On the loop thread after every message: a few interlocked adds.
        loop.TurnTaken = elapsed => _turns.Observe(elapsed.TotalSeconds);

        // Every emitted event passes the loop's notifications (on the loop thread: only an increment here).
        loop.Notified += n =>
        {
            if (n is EventNotification) Interlocked.Increment(ref _eventsEmitted);
        };
    }

    /// <summary>When supd started (as near as its hosted steps can tell: when the host began starting).</summary>
    public DateTimeOffset Started => _started;

    /// <summary>The text format's media type (Prometheus 0.0.4).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>One scrape: the loop's status list, then every series written to <paramref name="output"/>.</summary>
    public async Task WriteAsync(Stream output, CancellationToken cancellation)
    {
        // Rendered into memory (a few MB at most, by the instance bound) and sent after: a client that reads slowly
        // holds its own response, not the next scrape.
        using var text = new MemoryStream();
        await _scraping.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            Update(await _loop.ListAsync().ConfigureAwait(false));
            await _registry.CollectAndExportAsTextAsync(text, cancellation).ConfigureAwait(false);
        }
        finally
        {
            _scraping.Release();
        }
        text.Position = 0;
        await text.CopyToAsync(output, cancellation).ConfigureAwait(false);
    }

    private void Update(IReadOnlyList<JobStatusSnapshot> list)
    {
        // The containment's accounting, as supctl show prints it; one scan of /proc serves the whole scrape.
        var resources = new JobResources(_containment);
        var now = _time.GetUtcNow();
        _jobs.Set(list.Select(s => s.Job).Distinct(StringComparer.Ordinal).Count());
        _instances.Set(list.Count);
        _omitted.Set(Math.Max(0, list.Count - Limits.MaxObservedInstances));
        _queue.Set(_loop.QueueLength);
        _uptime.Set((now - _started).TotalSeconds);
        _startedAt.Set(_started.ToUnixTimeMilliseconds() / 1000.0);
        CounterTo(_events, Interlocked.Read(ref _eventsEmitted));
        CounterTo(_controlRefused, _control.Refused);
        CounterTo(_httpRefused, _http.Refused);
        var (_, forkSpawns, forkFailures) = _processes.ForkServerState;
        CounterTo(_forkSpawns, forkSpawns);
        CounterTo(_forkFailures, forkFailures);
        if (_journal.Sink is { } sink)
        {
            CounterTo(_journalSent, sink.Sent);
            CounterTo(_journalDropped, sink.Dropped);
        }
        foreach (var (verb, served, denied) in _requests.Snapshot())
        {
            CounterTo(_served, served, verb);
            CounterTo(_denied, denied, verb);
        }

        var described = new Dictionary<(string, string), (string, string)>();
        foreach (var s in list.Take(Limits.MaxObservedInstances))
        {
            string[] labels = [s.Job, s.Instance];
            var (state, goal) = (s.State.Name(), s.Goal.Name());
            if (_described.TryGetValue((s.Job, s.Instance), out var before))
            {
                if (before.State != state) _state.RemoveLabelled(s.Job, s.Instance, before.State);
                if (before.Goal != goal) _goal.RemoveLabelled(s.Job, s.Instance, before.Goal);
            }
            described[(s.Job, s.Instance)] = (state, goal);

            _up.WithLabels(labels).Set(s.State == JobState.Running ? 1 : 0);
            _failed.WithLabels(labels).Set(s.Failure is not null ? 1 : 0);
            _state.WithLabels(s.Job, s.Instance, state).Set(1);
            _goal.WithLabels(s.Job, s.Instance, goal).Set(1);
            CounterTo(_restarts, s.RespawnCount, labels);
            CounterTo(_logWritten, s.LogBytesWritten, labels);
            CounterTo(_logDropped, s.LogBytesDropped, labels);
            SetOrRemove(_lastExit, ExitValue(s.LastExit), labels);
            SetOrRemove(_startTime, s.MainStarted is { } started ? started.ToUnixTimeMilliseconds() / 1000.0 : null, labels);
            SetOrRemove(_healthy, s.Health?.Status switch { "healthy" => 1, "unhealthy" => 0, _ => null }, labels);
            var usage = resources.Of(s.MainPid);
            if (usage is { } u) CounterTo(_cpu, u.CpuUsec / 1_000_000.0, labels);
            else _cpu.RemoveLabelled(labels);
            SetOrRemove(_memory, usage?.MemoryBytes, labels);
        }
        foreach (var ((job, instance), (state, goal)) in _described)
        {
            if (described.ContainsKey((job, instance))) continue;
            foreach (var gauge in new[] { _up, _failed, _lastExit, _startTime, _memory, _healthy }) gauge.RemoveLabelled(job, instance);
            foreach (var counter in new[] { _restarts, _logWritten, _logDropped, _cpu }) counter.RemoveLabelled(job, instance);
            _state.RemoveLabelled(job, instance, state);
            _goal.RemoveLabelled(job, instance, goal);
        }
        _described = described;
    }

    /// <summary>Exit status as a shell reports it: the code, 128+N for signal N; -1 for a spawn failure.</summary>
    public static double? ExitValue(ProcessExitRecord? exit) => exit switch
    {
        null => null,
        { SpawnError: not null } => -1,
        { Status: { IsSignal: true } status } => 128 + status.Signal,
        { Status: { } status } => status.Code,
        _ => null,
    };

    private static void SetOrRemove(Gauge gauge, double? value, string[] labels)
    {
        if (value is { } v) gauge.WithLabels(labels).Set(v);
        else gauge.RemoveLabelled(labels);
    }

    // A counter never goes down; when the figure behind it did (a new instance under the same name), the series
    // starts again from zero, which Prometheus reads as a counter reset.
    private static void CounterTo(Counter counter, double value, params string[] labels)
    {
        if (labels.Length == 0)
        {
            counter.IncTo(value);
            return;
        }
        var child = counter.WithLabels(labels);
        if (value < child.Value)
        {
            counter.RemoveLabelled(labels);
            child = counter.WithLabels(labels);
        }
        child.IncTo(value);
    }
}
