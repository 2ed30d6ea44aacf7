namespace Supervisor.Core.Events;

/// <summary>
/// The immutable tree of a <c>start on</c>/<c>stop on</c> expression (spec §5.1). <c>and</c> and <c>or</c> bind
/// equally and associate left to right, so the parser builds a left-leaning tree. Latches live in the
/// per-job <see cref="EventMatcher"/>, never in the tree.
/// </summary>
public abstract record EventExpression
{
    /// <summary>Upstart's show-config rendering: operators fully parenthesised, values dequoted.</summary>
    public abstract override string ToString();
}

public sealed record EventAnd(EventExpression Left, EventExpression Right) : EventExpression
{
    public override string ToString() => $"({Left} and {Right})";
}

public sealed record EventOr(EventExpression Left, EventExpression Right) : EventExpression
{
    public override string ToString() => $"({Left} or {Right})";
}

/// <summary>One event name with its argument matches: <c>runlevel [2345]</c>, <c>stopped JOB=foo RESULT!=ok</c>.</summary>
public sealed record EventMatch(string Name, IReadOnlyList<EventArgument> Arguments) : EventExpression
{
    public EventMatch(string name) : this(name, []) { }

    public override string ToString() =>
        Arguments.Count == 0 ? Name : Name + " " + string.Join(' ', Arguments.Select(a => a.ToString()));

    public bool Equals(EventMatch? other) =>
        other is not null && Name == other.Name && Arguments.SequenceEqual(other.Arguments);

    public override int GetHashCode() => HashCode.Combine(Name, Arguments.Count);
}

/// <summary>
/// One argument of an event match: positional (<see cref="Key"/> null; compared with the value of the event's
/// i-th variable) or named (<c>KEY=PATTERN</c>, <c>KEY!=PATTERN</c>). Patterns are fnmatch globs, <c>$VAR</c>-expanded
/// at match time (spec §5.5).
/// </summary>
public sealed record EventArgument(string? Key, string Pattern, bool Negated = false)
{
    public static EventArgument Positional(string pattern) => new(null, pattern);
    public static EventArgument Named(string key, string pattern, bool negated = false) => new(key, pattern, negated);

    public override string ToString() => Key is null ? Pattern : $"{Key}{(Negated ? "!=" : "=")}{Pattern}";
}
