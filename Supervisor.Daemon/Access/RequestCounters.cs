using System.Collections.Concurrent;

namespace Supervisor.Daemon.Access;

/// <summary>
/// Control requests served and denied, by verb, since supd started (counted by <see cref="AccessInterceptor"/>, read
/// by /metrics). The verbs are the proto's methods', so the set is bounded.
/// </summary>
public sealed class RequestCounters
{
    private sealed class Tally
    {
        public long Served;
        public long Denied;
    }

    private readonly ConcurrentDictionary<string, Tally> _byVerb = new(StringComparer.Ordinal);

    public void Served(string verb) => Interlocked.Increment(ref _byVerb.GetOrAdd(verb, _ => new Tally()).Served);

    public void Denied(string verb) => Interlocked.Increment(ref _byVerb.GetOrAdd(verb, _ => new Tally()).Denied);

    /// <summary>Each verb seen so far with its totals.</summary>
    public IReadOnlyList<(string Verb, long Served, long Denied)> Snapshot() =>
        _byVerb.Select(v => (v.Key, Interlocked.Read(ref v.Value.Served), Interlocked.Read(ref v.Value.Denied)))
            .OrderBy(v => v.Key, StringComparer.Ordinal).ToList();
}
