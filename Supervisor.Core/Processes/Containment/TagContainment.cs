using System.Text;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// Without a cgroup: a job's main process carries the start's unguessable SUPD_TAG in its environment, which its
/// children inherit through fork and setsid; supd is a child subreaper, so whatever they leave behind is re-parented
/// to it. A stop signals, besides the process group, every process below supd (at most
/// <see cref="Limits.MaxTagScanDepth"/> generations) that carries the tag. Requests are batched: one worker on the
/// thread pool reads /proc once (every process's stat, then the environment of supd's descendants only) for all the
/// tags asked for in the last 50 ms, so a thousand crash-looping jobs cost a scan every 50 ms, not one per exit.
/// It cannot see a process that cleared or replaced its environment, nor one re-parented above supd (supd was
/// SIGKILLed); docs/security.md says so.
/// </summary>
public sealed partial class TagContainment(ContainmentMode mode, TimeProvider time, ILogger log) : IJobContainment
{
    public const string Variable = Events.EventIds.ProcessVariables.SupdTag;

    private static readonly TimeSpan Batch = TimeSpan.FromMilliseconds(50);
    private readonly Lock _gate = new();
    // Tag → signal to send at the next scan (SIGKILL wins over SIGTERM), and the kill timeout an End gave it.
    private readonly Dictionary<string, (int Signal, TimeSpan? KillAfter)> _pending = [];
    private readonly HashSet<string> _ending = [];
    private bool _working;

    public ContainmentMode Mode { get; } = mode;

    public string? Prepare(ContainmentUnit unit) => unit.Settings is { Count: > 0 } settings
        ? throw new ContainmentException($"{settings[0].Stanza} needs a cgroup, and supd contains jobs by {Mode.Describe()}")
        : null;

    public void Signal(string key, int signal) => Request(key, signal, null);

    public void End(string key, TimeSpan killTimeout)
    {
        if (key.Length == 0) return;
        lock (_gate) _ending.Add(key);
        Request(key, Signals.SIGTERM, killTimeout);
    }

    public Task EndAllAsync(TimeSpan wait)
    {
        string[] keys;
        lock (_gate)
        {
            keys = [.. _ending, .. _pending.Keys];
            _pending.Clear();
        }
        var found = FindTagged(keys.ToHashSet(), Environment.ProcessId);
        foreach (var pids in found.Values)
            foreach (var pid in pids) Libc.Kill(pid, Signals.SIGKILL);
        return Task.CompletedTask;
    }

    private void Request(string key, int signal, TimeSpan? killAfter)
    {
        if (key.Length == 0) return;
        lock (_gate)
        {
            if (_pending.TryGetValue(key, out var queued) && queued.Signal == Signals.SIGKILL) signal = Signals.SIGKILL;
            _pending[key] = (signal, killAfter ?? queued.KillAfter);
            if (_working) return;
            _working = true;
        }
        _ = Task.Run(WorkAsync);
    }

    private async Task WorkAsync()
    {
        while (true)
        {
            await Task.Delay(Batch, time).ConfigureAwait(false);
            Dictionary<string, (int Signal, TimeSpan? KillAfter)> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _working = false;
                    return;
                }
                batch = new(_pending);
                _pending.Clear();
            }
            var found = FindTagged(batch.Keys.ToHashSet(), Environment.ProcessId);
            foreach (var (key, (signal, killAfter)) in batch)
            {
                var pids = found.GetValueOrDefault(key) ?? [];
                foreach (var pid in pids) Libc.Kill(pid, signal);
                if (pids.Count > 0 && signal != Signals.SIGKILL && killAfter is { } timeout)
                {
                    // Strays at the end of a start: whatever is still there at the kill timeout gets SIGKILL.
                    LogStrays(key[..Math.Min(8, key.Length)], pids.Count, (int)timeout.TotalSeconds);
                    _ = Task.Delay(timeout, time).ContinueWith(_ => Request(key, Signals.SIGKILL, null), TaskScheduler.Default);
                }
                else if (signal == Signals.SIGKILL || killAfter is not null)
                {
                    lock (_gate) _ending.Remove(key);
                }
            }
        }
    }

    /// <summary>
    /// The live descendants of <paramref name="ancestor"/> (within <see cref="Limits.MaxTagScanDepth"/> generations)
    /// whose environment has SUPD_TAG set to one of <paramref name="keys"/>, by tag: one stat read per process, one
    /// environ read per descendant.
    /// </summary>
    internal static Dictionary<string, List<int>> FindTagged(IReadOnlySet<string> keys, int ancestor)
    {
        var found = new Dictionary<string, List<int>>();
        if (keys.Count == 0) return found;
        var children = new Dictionary<int, List<int>>();
        foreach (var pid in ProcFs.Pids())
            if (ProcFs.Stat(pid) is { State: not 'Z' } info)
                (children.TryGetValue(info.ParentPid, out var list) ? list : children[info.ParentPid] = []).Add(pid);

        var prefix = Encoding.UTF8.GetBytes(Variable + "=");
        var generation = new List<int> { ancestor };
        for (var depth = 0; depth < Limits.MaxTagScanDepth && generation.Count > 0; depth++)
        {
            var next = new List<int>();
            foreach (var parent in generation)
                foreach (var child in children.GetValueOrDefault(parent) ?? [])
                {
                    next.Add(child);
                    if (ProcFs.EnvironmentValue(child, prefix) is { } tag && keys.Contains(tag))
                        (found.TryGetValue(tag, out var pids) ? pids : found[tag] = []).Add(child);
                }
            generation = next;
        }
        return found;
    }

    [LoggerMessage(EventId = 163, Level = LogLevel.Information, Message = "Job tag {Tag}…: {Count} processes outlived the job; SIGTERM now, SIGKILL after {Timeout}s")]
    private partial void LogStrays(string tag, int count, int timeout);
}
