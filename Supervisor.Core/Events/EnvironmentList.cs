namespace Supervisor.Core.Events;

/// <summary>
/// An ordered list of <c>KEY=VALUE</c> entries where setting an existing key replaces it in place, the way
/// Upstart builds job and event environments (later entries replace earlier ones by key, order kept).
/// An index by key keeps <see cref="Set"/> and <see cref="Get"/> O(1): a linear search per entry made a request
/// carrying 100 000 variables hold the loop for half a minute.
/// </summary>
public sealed class EnvironmentList
{
    private readonly List<KeyValuePair<string, string>> _entries = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    // Keys whose value came from a caller without admin (Access/VariablePolicy): they travel with the value through
    // events, start variables and exported variables, so that each job admits only the ones it declares.
    private HashSet<string>? _untrusted;

    public EnvironmentList() { }

    public EnvironmentList(IEnumerable<string> entries) => AddRange(entries);

    public int Count => _entries.Count;

    public IReadOnlyList<KeyValuePair<string, string>> Entries => _entries;

    public void Set(string key, string value)
    {
        _untrusted?.Remove(key);
        Store(key, value);
    }

    /// <summary>Sets a value that came from a caller without admin.</summary>
    public void SetUntrusted(string key, string value)
    {
        (_untrusted ??= new(StringComparer.Ordinal)).Add(key);
        Store(key, value);
    }

    /// <summary>Marks every entry as coming from a caller without admin.</summary>
    public EnvironmentList MarkAllUntrusted()
    {
        foreach (var (key, _) in _entries) (_untrusted ??= new(StringComparer.Ordinal)).Add(key);
        return this;
    }

    public bool IsUntrusted(string key) => _untrusted?.Contains(key) == true;

    public bool HasUntrusted => _untrusted is { Count: > 0 };

    /// <summary>A copy, untrusted marks included.</summary>
    public EnvironmentList Clone()
    {
        var copy = new EnvironmentList();
        copy.AddRange(this);
        return copy;
    }

    private void Store(string key, string value)
    {
        if (_index.TryGetValue(key, out var index))
        {
            _entries[index] = new(key, value);
            return;
        }
        _index[key] = _entries.Count;
        _entries.Add(new(key, value));
    }

    /// <summary>Adds <c>KEY=VALUE</c> strings; an entry without '=' sets an empty value.</summary>
    public void AddRange(IEnumerable<string> entries)
    {
        foreach (var entry in entries)
        {
            var (key, value) = Split(entry);
            Set(key, value);
        }
    }

    public void AddRange(EnvironmentList other)
    {
        foreach (var (key, value) in other._entries)
        {
            if (other.IsUntrusted(key)) SetUntrusted(key, value);
            else Set(key, value);
        }
    }

    public string? Get(string key) => _index.TryGetValue(key, out var index) ? _entries[index].Value : null;

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool Remove(string key)
    {
        if (!_index.Remove(key, out var index)) return false;
        _untrusted?.Remove(key);
        _entries.RemoveAt(index);
        for (var i = index; i < _entries.Count; i++) _index[_entries[i].Key] = i;
        return true;
    }

    public IReadOnlyList<string> ToStrings() => _entries.Select(e => $"{e.Key}={e.Value}").ToArray();

    public static (string Key, string Value) Split(string entry)
    {
        var eq = entry.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? (entry, "") : (entry[..eq], entry[(eq + 1)..]);
    }

    /// <summary>True when every entry has the form KEY=VALUE with a non-empty KEY.</summary>
    public static bool AreAssignments(IEnumerable<string> entries) =>
        entries.All(e => e.IndexOf('=', StringComparison.Ordinal) > 0);
}
