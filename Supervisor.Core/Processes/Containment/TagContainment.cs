using System.Text;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// Without a cgroup: a job's main process carries the start's unguessable SUPD_TAG in its environment, which its
/// children inherit through fork and setsid; supd is a child subreaper, so whatever they leave behind is re-parented
/// to it. A stop signals, besides the process group, every process that carries the tag and has supd among its
/// parents (at most <see cref="Limits.MaxTagScanDepth"/> up): the scan of /proc runs on the thread pool, never on
/// the loop. It cannot see a process that cleared or replaced its environment, nor one re-parented above supd
/// (supd was SIGKILLed); docs/security.md says so.
/// </summary>
public sealed partial class TagContainment(ContainmentMode mode, TimeProvider time, ILogger log) : IJobContainment
{
    public const string Variable = Events.EventIds.ProcessVariables.SupdTag;

    private readonly Lock _gate = new();
    private readonly HashSet<string> _ending = [];

    public ContainmentMode Mode { get; } = mode;

    public string? Prepare(ContainmentUnit unit) => unit.Settings is { Count: > 0 } settings
        ? throw new ContainmentException($"{settings[0].Stanza} needs a cgroup, and supd contains jobs by {Mode.Describe()}")
        : null;

    public void Signal(string key, int signal)
    {
        if (key.Length > 0) _ = Task.Run(() => SignalTagged(key, signal));
    }

    public void End(string key, TimeSpan killTimeout)
    {
        if (key.Length == 0) return;
        lock (_gate) _ending.Add(key);
        _ = Task.Run(async () =>
        {
            if (SignalTagged(key, Signals.SIGTERM) > 0)
            {
                await Task.Delay(killTimeout, time).ConfigureAwait(false);
                var killed = SignalTagged(key, Signals.SIGKILL);
                if (killed > 0) LogStraysKilled(key[..8], killed);
            }
            lock (_gate) _ending.Remove(key);
        });
    }

    public Task EndAllAsync(TimeSpan wait)
    {
        string[] keys;
        lock (_gate) keys = [.. _ending];
        foreach (var key in keys) SignalTagged(key, Signals.SIGKILL);
        return Task.CompletedTask;
    }

    /// <summary>Signals every live descendant of supd that carries the tag; how many it signalled.</summary>
    internal static int SignalTagged(string key, int signal)
    {
        var count = 0;
        foreach (var pid in FindTagged(key, Environment.ProcessId))
            if (Libc.Kill(pid, signal) == 0) count++;
        return count;
    }

    /// <summary>Live processes below <paramref name="ancestor"/> (by the parent chain) whose environment has SUPD_TAG=key.</summary>
    internal static List<int> FindTagged(string key, int ancestor)
    {
        var needle = Encoding.UTF8.GetBytes($"{Variable}={key}\0");
        var found = new List<int>();
        foreach (var pid in ProcFs.Pids())
        {
            if (pid == ancestor || !Descends(pid, ancestor)) continue;
            if (ProcFs.EnvironmentContains(pid, needle)) found.Add(pid);
        }
        return found;
    }

    private static bool Descends(int pid, int ancestor)
    {
        var current = pid;
        for (var depth = 0; depth < Limits.MaxTagScanDepth; depth++)
        {
            if (ProcFs.Stat(current) is not { } info || (depth == 0 && info.State == 'Z')) return false;
            if (info.ParentPid == ancestor) return true;
            if (info.ParentPid <= 1) return false;
            current = info.ParentPid;
        }
        return false;
    }

    [LoggerMessage(EventId = 163, Level = LogLevel.Information, Message = "Job tag {Tag}…: {Count} processes outlived the kill timeout; sent SIGKILL")]
    private partial void LogStraysKilled(string tag, int count);
}
