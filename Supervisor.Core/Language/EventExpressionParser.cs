using Supervisor.Core.Events;

namespace Supervisor.Core.Language;

/// <summary>
/// Parses the expression after <c>start on</c>/<c>stop on</c> (spec §5.1) with Upstart's operator-stack algorithm,
/// so that the same inputs fail with the same message at the same place: <c>and</c>/<c>or</c> bind equally and
/// associate to the left, an expression may continue onto further lines only while a parenthesis is open.
/// The parser is iterative, but the tree it builds is walked recursively (matcher, printer, equality), and a
/// left-leaning tree is as deep as it has events: <see cref="Limits.MaxExpressionOperands"/> and
/// <see cref="Limits.MaxExpressionDepth"/> bound it here, so nothing downstream can overflow the stack.
/// </summary>
internal static class EventExpressionParser
{
    /// <summary>One stack entry: an open parenthesis (<see cref="Group"/>), an event being collected, or an operator waiting for its right side.</summary>
    private abstract class StackItem;

    private sealed class Group : StackItem;

    private sealed class Match(string name) : StackItem
    {
        public string Name { get; } = name;
        public List<EventArgument> Arguments { get; } = [];
        public bool HasNamedArgument { get; set; }
    }

    private sealed class Operator(bool isAnd, EventExpression left) : StackItem
    {
        public bool IsAnd { get; } = isAnd;
        public EventExpression Left { get; } = left;
    }

    public static EventExpression Parse(ConfigReader reader)
    {
        var stack = new Stack<StackItem>();
        EventExpression? root = null;
        var openParens = 0;
        var operands = 0;
        // Where the last token began: an error found only once the expression has ended (after its newline) is
        // blamed on the line of that token, as Upstart does, not on the next line (`start on foo or⏎exec x` is line 1).
        var lastToken = reader.Position;

        do
        {
            reader.SkipWhitespace();
            do
            {
                lastToken = reader.Position;
                if (!reader.AtEnd && reader.Current is '(' or ')')
                    HandleParenthesis(reader, stack, ref root, ref openParens);
                else
                    HandleWord(reader, stack, ref root, ref operands);
            }
            while (reader.HasToken());
            reader.SkipComment();
        }
        while (!reader.AtEnd && openParens > 0);

        Collect(lastToken, stack, ref root);
        if (stack.Count > 0)
            throw new ConfigSyntaxException(reader.Position, "Mismatched parentheses: '(' is never closed");
        return root!;
    }

    private static void HandleParenthesis(ConfigReader reader, Stack<StackItem> stack, ref EventExpression? root, ref int openParens)
    {
        if (reader.Current == '(')
        {
            openParens++;
            if (openParens > Limits.MaxExpressionDepth)
                throw new ConfigSyntaxException(reader.Position, $"Expression nested too deeply (more than {Limits.MaxExpressionDepth} open parentheses)");
            if (root is not null || stack.TryPeek(out var top) && top is Match)
                throw new ConfigSyntaxException(reader.Position, "Expected operator before '('");
            stack.Push(new Group());
        }
        else
        {
            openParens--;
            Collect(reader.Position, stack, ref root);
            if (stack.Count == 0)
                throw new ConfigSyntaxException(reader.Position, "Mismatched parentheses: ')' without '('");
            stack.Pop();
        }
        reader.Position++;
        reader.SkipWhitespace();
    }

    private static void HandleWord(ConfigReader reader, Stack<StackItem> stack, ref EventExpression? root, ref int operands)
    {
        // Operators are recognised undequoted, so a quoted "and" is an ordinary event name or value.
        var start = reader.Position;
        var word = reader.NextToken(ConfigReader.EventDelimiters, dequote: false);
        if (word is "and" or "or")
        {
            Collect(start, stack, ref root);
            stack.Push(new Operator(word == "and", root!));
            root = null;
            return;
        }

        reader.Position = start;
        var operand = reader.NextToken(ConfigReader.EventDelimiters, dequote: true);
        if (!stack.TryPeek(out var top) || top is not Match match)
        {
            if (++operands > Limits.MaxExpressionOperands)
                throw new ConfigSyntaxException(start, $"Expression too large (more than {Limits.MaxExpressionOperands} events)");
            stack.Push(new Match(operand));
            return;
        }

        var equals = operand.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0)
        {
            if (match.HasNamedArgument)
                throw new ConfigSyntaxException(reader.Position, $"Expected variable name before value '{operand}' (positional values must come before KEY=VALUE ones)");
            match.Arguments.Add(EventArgument.Positional(operand));
            return;
        }

        match.HasNamedArgument = true;
        var negated = equals > 0 && operand[equals - 1] == '!';
        var key = operand[..(negated ? equals - 1 : equals)];
        match.Arguments.Add(EventArgument.Named(key, operand[(equals + 1)..], negated));
    }

    /// <summary>Folds the stack down to the nearest open parenthesis into <paramref name="root"/>; errors are blamed on <paramref name="position"/>.</summary>
    private static void Collect(int position, Stack<StackItem> stack, ref EventExpression? root)
    {
        while (stack.TryPeek(out var item) && item is not Group)
        {
            stack.Pop();
            switch (item)
            {
                case Operator op when root is not null:
                    root = op.IsAnd ? new EventAnd(op.Left, root) : new EventOr(op.Left, root);
                    break;
                case Operator op:
                    throw new ConfigSyntaxException(position, $"Expected event after '{(op.IsAnd ? "and" : "or")}'");
                case Match when root is not null:
                    throw new ConfigSyntaxException(position, "Expected operator between events");
                case Match match:
                    root = new EventMatch(match.Name, match.Arguments.ToArray());
                    break;
            }
        }
        if (root is null)
            throw new ConfigSyntaxException(position, "Expected event");
    }
}
