namespace Supervisor.Core.Events;

/// <summary>
/// Overview: the run-time state of one <c>start on</c> or <c>stop on</c> condition (spec §5.2–5.4).
///
/// The expression tree is immutable; this class mirrors it with nodes that carry a value. A leaf latches TRUE when a
/// matching event arrives and holds a block on that event, so the emitter keeps waiting while the condition is only
/// half satisfied (Upstart's behaviour). Inner nodes are recomputed from their children. When the root is TRUE the
/// caller collects the matched events (left to right, only under TRUE branches), takes its own blocks on them, and
/// resets the matcher, which releases the leaves' blocks.
/// </summary>
public sealed class EventMatcher
{
    private readonly Node _root;

    public EventMatcher(EventExpression expression)
    {
        Expression = expression;
        _root = Build(expression);
    }

    public EventExpression Expression { get; }

    public bool IsSatisfied => _root.Value;

    /// <summary>Offers an event; returns true when the whole condition is now satisfied.</summary>
    /// <param name="lookup">Variables for <c>$VAR</c> in match values (empty for <c>start on</c>, spec §5.5).</param>
    public bool Handle(Event e, Func<string, string?> lookup)
    {
        Handle(_root, e, lookup);
        return _root.Value;
    }

    /// <summary>The events under TRUE branches, left to right.</summary>
    public IReadOnlyList<Event> MatchedEvents()
    {
        var events = new List<Event>();
        Collect(_root, events);
        return events;
    }

    /// <summary>Clears every latch and releases the blocks the leaves held.</summary>
    public void Reset() => Reset(_root);

    /// <summary>The start/stop environment from the matched events: their variables plus <paramref name="namesKey"/>.</summary>
    public EnvironmentList Environment(string namesKey)
    {
        var env = new EnvironmentList();
        var events = MatchedEvents();
        foreach (var e in events) env.AddRange(e.Environment);
        env.Set(namesKey, string.Join(' ', events.Select(e => e.Name)));
        return env;
    }

    /// <summary>Does one event satisfy one match (name, positional and KEY=/KEY!= globs)?</summary>
    public static bool Matches(EventMatch match, Event e, Func<string, string?> lookup)
    {
        if (match.Name != e.Name) return false;
        var position = 0;
        foreach (var argument in match.Arguments)
        {
            if (!EnvironmentExpander.TryExpand(argument.Pattern, lookup, out var pattern, out _)) return false;
            string? value;
            if (argument.Key is null)
            {
                if (position >= e.Environment.Count) return false;
                value = e.Environment.Entries[position++].Value;
            }
            else
            {
                value = e.Environment.Get(argument.Key);
                if (value is null) return false;
            }
            if (Glob.Match(pattern, value) == argument.Negated) return false;
        }
        return true;
    }

    private static void Handle(Node node, Event e, Func<string, string?> lookup)
    {
        switch (node)
        {
            case LeafNode leaf:
                if (!leaf.Value && Matches(leaf.Match, e, lookup))
                {
                    leaf.Value = true;
                    leaf.Event = e;
                    e.Block();
                }
                break;
            case BranchNode branch:
                Handle(branch.Left, e, lookup);
                Handle(branch.Right, e, lookup);
                branch.Value = branch.IsAnd ? branch.Left.Value && branch.Right.Value : branch.Left.Value || branch.Right.Value;
                break;
        }
    }

    private static void Collect(Node node, List<Event> events)
    {
        if (!node.Value) return;
        switch (node)
        {
            case LeafNode { Event: { } e }:
                events.Add(e);
                break;
            case BranchNode branch:
                Collect(branch.Left, events);
                Collect(branch.Right, events);
                break;
        }
    }

    private static void Reset(Node node)
    {
        switch (node)
        {
            case LeafNode leaf:
                leaf.Event?.Unblock();
                leaf.Event = null;
                break;
            case BranchNode branch:
                Reset(branch.Left);
                Reset(branch.Right);
                break;
        }
        node.Value = false;
    }

    private static Node Build(EventExpression expression) => expression switch
    {
        EventMatch m => new LeafNode(m),
        EventAnd a => new BranchNode(Build(a.Left), Build(a.Right), IsAnd: true),
        EventOr o => new BranchNode(Build(o.Left), Build(o.Right), IsAnd: false),
        _ => throw new ArgumentException($"Unknown expression node {expression.GetType().Name}", nameof(expression)),
    };

    private abstract class Node
    {
        public bool Value;
    }

    private sealed class LeafNode(EventMatch match) : Node
    {
        public EventMatch Match { get; } = match;
        public Event? Event;
    }

    private sealed class BranchNode(Node left, Node right, bool IsAnd) : Node
    {
        public Node Left { get; } = left;
        public Node Right { get; } = right;
        public bool IsAnd { get; } = IsAnd;
    }
}
