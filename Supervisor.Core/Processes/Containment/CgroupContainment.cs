using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// A cgroup v2 directory per job instance start, under <see cref="ContainmentMode.JobsRoot"/>. Created on the
/// instance's first spawn; every process of the start (hooks included) joins it in the exec helper before it execs,
/// so nothing it forks can start outside. A stop signals every pid in it, the kill timeout ends it with cgroup.kill,
/// and the empty directory is removed. The directory of a supd that was SIGKILLed is emptied and removed at the next start.
/// </summary>
public sealed partial class CgroupContainment : IJobContainment
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _groups = [];
    private readonly HashSet<string> _ending = [];
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private long _sequence;
    // Set when the tree could not be used after all (Open failed): the job processes are then contained by their tag.
    private TagContainment? _fallback;

    public CgroupContainment(ContainmentMode mode, TimeProvider time, ILogger log)
    {
        if (!mode.UsesCgroups) throw new ArgumentException("not a cgroup mode", nameof(mode));
        Detected = mode;
        _time = time;
        _log = log;
    }

    public ContainmentMode Mode => _fallback?.Mode ?? Detected;

    private ContainmentMode Detected { get; }

    private string Root => Detected.JobsRoot!;

    /// <summary>
    /// Makes the jobs' directory, empties and removes what a previous supd left in it, and (delegated) moves supd into
    /// its leaf. False, with the reason, when the tree cannot be used after all.
    /// </summary>
    /// <param name="handedOver">After a re-exec: the groups of the instances handed over, by unit key; kept as they are.</param>
    public bool Open(out string error, IReadOnlyDictionary<string, string>? handedOver = null)
    {
        if (TryOpen(out error, handedOver ?? new Dictionary<string, string>())) return true;
        _fallback = new TagContainment(ContainmentMode.ProcessGroups(error), _time, _log);
        return false;
    }

    private bool TryOpen(out string error, IReadOnlyDictionary<string, string> handedOver)
    {
        error = "";
        try
        {
            if (Detected.SupdLeaf is { } leaf)
            {
                Directory.CreateDirectory(leaf);
                if (!CgroupFiles.Join(leaf, Environment.ProcessId, out var joinError))
                {
                    error = $"cannot move supd into {leaf}: {joinError}";
                    return false;
                }
            }
            Directory.CreateDirectory(Root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot create {Root}: {e.Message}";
            return false;
        }
        var kept = new HashSet<string>(handedOver.Values, StringComparer.Ordinal);
        foreach (var (key, group) in handedOver)
        {
            if (Path.GetDirectoryName(group) != Root || !Directory.Exists(group)) continue;
            lock (_gate)
            {
                _groups[key] = group;
                // New groups are numbered after the kept ones (NAME.N), so no name is taken twice.
                if (int.TryParse(group[(group.LastIndexOf('.') + 1)..], System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var n))
                    _sequence = Math.Max(_sequence, n);
            }
        }
        foreach (var left in Directory.EnumerateDirectories(Root))
        {
            if (kept.Contains(left)) continue;
            LogLeftover(left, CgroupFiles.Procs(left).Count);
            CgroupFiles.Kill(left);
            RemoveWhenEmpty(left, TimeSpan.FromSeconds(5)).Wait();
        }
        return true;
    }

    public string? Prepare(ContainmentUnit unit)
    {
        if (_fallback is { } tags) return tags.Prepare(unit);
        lock (_gate)
        {
            if (_groups.TryGetValue(unit.Key, out var existing)) return existing;
            var settings = unit.Settings ?? [];
            foreach (var setting in settings) EnableController(setting);
            var path = Path.Join(Root, CgroupFiles.Name(unit.Name, ++_sequence));
            Directory.CreateDirectory(path);
            try
            {
                foreach (var setting in settings.Where(s => s.File.Length > 0))
                    if (!CgroupFiles.TryWrite(Path.Join(path, setting.File), setting.Value, out var error))
                        throw new ContainmentException($"{setting.Stanza}: cannot write {setting.File}: {error}");
            }
            catch (ContainmentException)
            {
                CgroupFiles.TryRemove(path);
                throw;
            }
            _groups[unit.Key] = path;
            return path;
        }
    }

    // Under _gate. A controller reaches the jobs' groups when it is in the subtree_control of every group from the
    // hierarchy's root down to Root; supd turns it on where it may, and refuses the setting where the kernel has not got it.
    private void EnableController(CgroupSetting setting)
    {
        var hierarchy = Detected.Hierarchy!;
        var below = new List<string>();
        var dir = Root;
        while (!CgroupFiles.Controllers(dir).Contains(setting.Controller))
        {
            if (dir.Length <= hierarchy.Length || Path.GetDirectoryName(dir) is not { } parent)
            {
                var available = CgroupFiles.Controllers(hierarchy);
                throw new ContainmentException($"{setting.Stanza}: the {setting.Controller} controller is not available in cgroup v2 at {hierarchy} " +
                    $"(it has: {(available.Count == 0 ? "none" : string.Join(' ', available.Order()))}; a controller bound to a v1 hierarchy is not)");
            }
            below.Insert(0, dir);
            dir = parent;
        }
        foreach (var group in below.Prepend(dir))
            if (!CgroupFiles.TryWrite(Path.Join(group, "cgroup.subtree_control"), "+" + setting.Controller, out var error))
                throw new ContainmentException($"{setting.Stanza}: cannot enable the {setting.Controller} controller in {group}: {error}");
    }

    public string? GroupOf(int pid)
    {
        if (_fallback is not null || Detected.Hierarchy is not { } hierarchy || CgroupFiles.UnifiedGroupOf(pid) is not { } relative) return null;
        var group = Path.Join(hierarchy, relative);
        return group.StartsWith(Root + "/", StringComparison.Ordinal) && Directory.Exists(group) ? group : null;
    }

    public string? Group(string key)
    {
        if (_fallback is not null) return null;
        lock (_gate) return _groups.GetValueOrDefault(key);
    }

    public long OomKills(string key)
    {
        if (_fallback is not null) return 0;
        string? group;
        lock (_gate) _groups.TryGetValue(key, out group);
        return group is null ? 0 : CgroupFiles.OomKills(group);
    }

    public void Signal(string key, int signal)
    {
        if (_fallback is { } tags)
        {
            tags.Signal(key, signal);
            return;
        }
        string? group;
        lock (_gate) _groups.TryGetValue(key, out group);
        if (group is null) return;
        if (signal == Signals.SIGKILL) CgroupFiles.Kill(group);
        else CgroupFiles.SignalEach(group, signal);
    }

    public void End(string key, TimeSpan killTimeout)
    {
        if (_fallback is { } tags)
        {
            tags.End(key, killTimeout);
            return;
        }
        string? group;
        lock (_gate)
        {
            if (!_groups.Remove(key, out group)) return;
            _ending.Add(group);
        }
        if (!CgroupFiles.Populated(group))
        {
            Forget(group, CgroupFiles.TryRemove(group));
            return;
        }
        // Strays of the job (a setsid'd child, a daemon): SIGTERM now, as the job got; whatever is left at the kill timeout goes with cgroup.kill.
        var left = CgroupFiles.Procs(group);
        LogStrays(group, left.Count, (int)killTimeout.TotalSeconds);
        CgroupFiles.SignalEach(group, Signals.SIGTERM);
        _ = Task.Run(async () =>
        {
            if (await EmptiesWithin(group, killTimeout).ConfigureAwait(false) is false) CgroupFiles.Kill(group);
            Forget(group, await RemoveWhenEmpty(group, TimeSpan.FromSeconds(10)).ConfigureAwait(false));
        });
    }

    public async Task EndAllAsync(TimeSpan wait)
    {
        if (_fallback is { } tags)
        {
            await tags.EndAllAsync(wait).ConfigureAwait(false);
            return;
        }
        string[] groups;
        lock (_gate)
        {
            groups = [.. _groups.Values, .. _ending];
            _groups.Clear();
        }
        foreach (var group in groups) CgroupFiles.Kill(group);
        foreach (var group in groups) Forget(group, await RemoveWhenEmpty(group, wait).ConfigureAwait(false));
        // The jobs' directory too, when nothing is left in it: a supd per socket (tests) leaves no empty trees behind.
        CgroupFiles.TryRemove(Root);
    }

    private void Forget(string group, bool removed)
    {
        lock (_gate) _ending.Remove(group);
        if (!removed) LogNotRemoved(group);
    }

    // Polls cgroup.events (every 50 ms, on the thread pool): true when the group emptied within the time.
    private async Task<bool> EmptiesWithin(string group, TimeSpan time)
    {
        var deadline = _time.GetTimestamp() + (long)(time.TotalSeconds * _time.TimestampFrequency);
        while (CgroupFiles.Populated(group))
        {
            if (_time.GetTimestamp() >= deadline) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time).ConfigureAwait(false);
        }
        return true;
    }

    private async Task<bool> RemoveWhenEmpty(string group, TimeSpan time)
    {
        await EmptiesWithin(group, time).ConfigureAwait(false);
        return CgroupFiles.TryRemove(group);
    }

    [LoggerMessage(EventId = 160, Level = LogLevel.Information, Message = "{Group}: {Count} processes outlived the job; SIGTERM now, SIGKILL after {Timeout}s")]
    private partial void LogStrays(string group, int count, int timeout);

    [LoggerMessage(EventId = 161, Level = LogLevel.Warning, Message = "{Group}: could not remove the cgroup (still populated?)")]
    private partial void LogNotRemoved(string group);

    [LoggerMessage(EventId = 162, Level = LogLevel.Warning, Message = "{Group}: left by a previous supd with {Count} processes; killed and removed")]
    private partial void LogLeftover(string group, int count);
}
