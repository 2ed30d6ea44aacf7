namespace Supervisor.Core.Events;

/// <summary>
/// An ordered list of <c>KEY=VALUE</c> entries where setting an existing key replaces it in place, the way
/// Upstart builds job and event environments (later entries replace earlier ones by key, order kept).
/// </summary>
public sealed class EnvironmentList
{
    private readonly List<KeyValuePair<string, string>> _entries = [];

    public EnvironmentList() { }

    public EnvironmentList(IEnumerable<string> entries) => AddRange(entries);

    public int Count => _entries.Count;

    public IReadOnlyList<KeyValuePair<string, string>> Entries => _entries;

    public void Set(string key, string value)
    {
        var index = _entries.FindIndex(e => e.Key == key);
        if (index >= 0) _entries[index] = new(key, value);
        else _entries.Add(new(key, value));
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
        foreach (var (key, value) in other._entries) Set(key, value);
    }

    public string? Get(string key)
    {
        foreach (var (k, v) in _entries)
            if (k == key) return v;
        return null;
    }

    public bool Remove(string key) => _entries.RemoveAll(e => e.Key == key) > 0;

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
