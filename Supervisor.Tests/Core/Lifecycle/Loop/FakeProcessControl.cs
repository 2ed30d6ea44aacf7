using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>Records spawns and signals; the test decides when and how each process exits.</summary>
internal sealed class FakeProcessControl : IProcessControl
{
    private readonly Lock _gate = new();
    private readonly List<(SpawnRequest Request, int Pid)> _spawns = [];
    private readonly List<(int Pid, int Signal, bool Group)> _signals = [];
    private readonly HashSet<int> _alive = [];
    private Action<ChildExit>? _onExit;
    private Action<SpawnReport>? _onReport;
    private int _nextPid = 1000;

    /// <summary>Optional: decide a spawn's outcome (e.g. a spawn failure).</summary>
    public Func<SpawnRequest, SpawnResult?>? OnSpawn { get; set; }

    /// <summary>OOM kills by unit key (SUPD_TAG), as a cgroup's memory.events would count them.</summary>
    public Dictionary<string, long> OomKillCounts { get; } = [];

    public long OomKills(string key)
    {
        lock (_gate) return OomKillCounts.GetValueOrDefault(key);
    }

    /// <summary>Optional: spawns for which this is true go "through the exec helper": their report is the test's to send (<see cref="Report"/>).</summary>
    public Func<SpawnRequest, bool>? ThroughHelper { get; set; }

    public IReadOnlyList<(SpawnRequest Request, int Pid)> Spawns
    {
        get { lock (_gate) return _spawns.ToArray(); }
    }

    public IReadOnlyList<(int Pid, int Signal, bool Group)> SignalsSent
    {
        get { lock (_gate) return _signals.ToArray(); }
    }

    /// <summary>The pid of the latest process spawned for "JOB KIND process".</summary>
    public int PidOf(string job, string kind) =>
        Spawns.LastOrDefault(s => s.Request.Description == $"{job} {kind} process").Pid;

    public IReadOnlyList<string> SpawnOrder => Spawns.Select(s => s.Request.Description).ToArray();

    public void Start(Action<ChildExit> onExit, Action<SpawnReport> onReport)
    {
        _onExit = onExit;
        _onReport = onReport;
    }

    public SpawnResult Spawn(SpawnRequest request)
    {
        if (OnSpawn?.Invoke(request) is { } decided) return decided;
        lock (_gate)
        {
            var pid = ++_nextPid;
            _spawns.Add((request, pid));
            _alive.Add(pid);
            return ThroughHelper?.Invoke(request) == true ? SpawnResult.Reporting(pid) : SpawnResult.Started(pid);
        }
    }

    /// <summary>
    /// The exec helper of <paramref name="pid"/> reports, as the reaper would: null <paramref name="error"/> means the
    /// program runs; otherwise the helper is gone and its exit is never reported (as the real reaper drops it).
    /// </summary>
    public void Report(int pid, string? error = null, params string[] notApplied)
    {
        if (error is not null)
        {
            lock (_gate) _alive.Remove(pid);
        }
        _onReport!(new SpawnReport(pid, error, notApplied));
    }

    /// <summary>Reports a process's exit to the loop, as the reaper would; its output pipe ends first, as a real one does.</summary>
    public void Exit(int pid, ExitStatus status)
    {
        IOutputSink? output;
        lock (_gate)
        {
            if (!_alive.Remove(pid)) throw new InvalidOperationException($"pid {pid} is not running");
            output = _spawns.LastOrDefault(s => s.Pid == pid).Request?.Output;
        }
        // Its pipe reaches end of file as it exits (no child of a fake holds it open).
        output?.Completed();
        _onExit!(new ChildExit(pid, status));
    }

    /// <summary>What a spawned process writes to its output.</summary>
    public void Write(int pid, string text)
    {
        IOutputSink? output;
        lock (_gate) output = _spawns.LastOrDefault(s => s.Pid == pid).Request?.Output;
        output?.Write(System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Pids a previous image handed over (a re-exec): alive before this fake spawned or adopted them.</summary>
    public HashSet<int> Inherited { get; } = [];

    /// <summary>A fake process's start time: its pid, while it lives (spawned, adopted or inherited, not exited).</summary>
    public ulong? StartTimeOf(int pid)
    {
        lock (_gate) return _alive.Contains(pid) || Inherited.Contains(pid) ? (ulong)pid : null;
    }

    public bool IsAlive(int pid)
    {
        lock (_gate) return _alive.Contains(pid);
    }

    public bool Signal(int pid, int signal)
    {
        lock (_gate)
        {
            _signals.Add((pid, signal, false));
            return _alive.Contains(pid);
        }
    }

    public bool SignalGroup(int pgid, int signal)
    {
        lock (_gate)
        {
            _signals.Add((pgid, signal, true));
            return _alive.Contains(pgid);
        }
    }

    public Task DrainOutputAsync(TimeSpan timeout) => Task.CompletedTask;

    /// <summary>What Inspect reports per pid (default: running, parent supd, its own group and session).</summary>
    public Dictionary<int, ProcessInfo> Info { get; } = [];

    /// <summary>Processes the test pretends were re-parented to supd, with their tag value.</summary>
    public List<(int Pid, string Tag)> Orphans { get; } = [];

    public ProcessInfo? Inspect(int pid)
    {
        lock (_gate)
        {
            if (!_alive.Contains(pid) && !Orphans.Any(o => o.Pid == pid)) return null;
            return Info.TryGetValue(pid, out var info) ? info : new ProcessInfo('S', 1, pid, pid);
        }
    }

    /// <summary>The boot clock (ticks) the loop reads before a main spawn; an orphan's Info.StartTime 0 means "now".</summary>
    public ulong Clock { get; set; } = 1000;

    public ulong ClockTicksSinceBoot() => Clock;

    public IReadOnlyList<int> FindAdopted(string key, string value, ulong startedNotBefore)
    {
        lock (_gate)
            return Orphans.Where(o => o.Tag == value && !_alive.Contains(o.Pid) && OrphanStartTime(o.Pid) >= startedNotBefore)
                .Select(o => o.Pid).ToArray();
    }

    private ulong OrphanStartTime(int pid) => Info.TryGetValue(pid, out var info) && info.StartTime != 0 ? info.StartTime : Clock;

    public bool Adopt(int pid)
    {
        lock (_gate)
        {
            Orphans.RemoveAll(o => o.Pid == pid);
            return _alive.Add(pid);
        }
    }

    /// <summary>The tag supd gave the latest main process of JOB (its SUPD_TAG variable).</summary>
    public string TagOf(string job) =>
        Spawns.Last(s => s.Request.Description == $"{job} main process").Request.Environment
            .Single(e => e.StartsWith("SUPD_TAG=", StringComparison.Ordinal))["SUPD_TAG=".Length..];

    public void Dispose() { }
}
