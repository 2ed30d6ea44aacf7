using System.Text;

namespace Supervisor.Core.Events;

/// <summary>
/// Upstart's <c>environ_expand</c> (spec §5.5): <c>$NAME</c>, <c>${NAME}</c>, <c>${NAME:-def}</c>, <c>${NAME-def}</c>,
/// <c>${NAME:+alt}</c>, <c>${NAME+alt}</c>, <c>${}</c> (a literal <c>$</c>) and nesting (<c>${${A}}</c>). A <c>$</c>
/// not followed by a letter, <c>_</c> or <c>{</c> is literal. As in Upstart, the operand after an operator is
/// expanded even when it is not used, so an unknown variable there is still an error.
/// </summary>
public static class EnvironmentExpander
{
    public static bool TryExpand(string text, Func<string, string?> lookup, out string result, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(lookup);
        // Most patterns (every event argument without a variable) have nothing to expand: no copy.
        if (!text.Contains('$'))
        {
            result = text;
            error = null;
            return true;
        }
        var output = new StringBuilder(text.Length);
        var position = 0;
        error = ExpandUntil(text, ref position, "", lookup, output);
        result = error is null ? output.ToString() : "";
        return error is null;
    }

    /// <summary>Expands from <paramref name="position"/> until a character of <paramref name="until"/> or the end; returns an error or null.</summary>
    private static string? ExpandUntil(string text, ref int position, string until, Func<string, string?> lookup, StringBuilder output)
    {
        while (position < text.Length)
        {
            var c = text[position];
            if (until.Contains(c))
                return null;
            if (c != '$' || position + 1 >= text.Length)
            {
                output.Append(c);
                position++;
                continue;
            }

            var next = text[position + 1];
            if (next == '_' || char.IsAsciiLetter(next))
            {
                var nameStart = position + 1;
                var end = nameStart + 1;
                while (end < text.Length && (text[end] == '_' || char.IsAsciiLetterOrDigit(text[end]))) end++;
                var name = text[nameStart..end];
                var value = lookup(name);
                if (value is null)
                    return $"Unknown parameter: {name}";
                output.Append(value);
                position = end;
            }
            else if (next == '{' && position + 2 < text.Length && text[position + 2] == '}')
            {
                output.Append('$');
                position += 3;
            }
            else if (next == '{')
            {
                position += 2;
                var error = ExpandBraced(text, ref position, lookup, output);
                if (error is not null)
                    return error;
            }
            else
            {
                output.Append(c);
                position++;
            }
        }
        return null;
    }

    /// <summary>The inside of <c>${…}</c>, cursor just after the brace; on success the cursor is after the closing brace.</summary>
    private static string? ExpandBraced(string text, ref int position, Func<string, string?> lookup, StringBuilder output)
    {
        var nameBuilder = new StringBuilder();
        var error = ExpandUntil(text, ref position, "}:-+", lookup, nameBuilder);
        if (error is not null)
            return error;
        var name = nameBuilder.ToString();
        if (!IsValidName(name))
            return $"Illegal parameter: {name}";

        var op = "";
        if (position + 1 < text.Length && text[position] == ':' && text[position + 1] is '-' or '+')
        {
            op = text.Substring(position, 2);
            position += 2;
        }
        else if (position < text.Length && text[position] is '-' or '+')
        {
            op = text[position].ToString();
            position++;
        }
        else if (position < text.Length && text[position] != '}')
        {
            return "Expected operator";
        }

        var argument = new StringBuilder();
        error = ExpandUntil(text, ref position, "}", lookup, argument);
        if (error is not null)
            return error;
        if (position >= text.Length)
            return "Mismatched braces";
        position++;

        var value = lookup(name);
        var ignoreEmpty = op.StartsWith(':');
        var missing = value is null || ignoreEmpty && value.Length == 0;
        switch (op)
        {
            case "":
                if (value is null)
                    return $"Unknown parameter: {name}";
                output.Append(value);
                break;
            case ":-" or "-":
                output.Append(missing ? argument.ToString() : value);
                break;
            default:   // ":+" or "+"
                if (!missing) output.Append(argument);
                break;
        }
        return null;
    }

    private static bool IsValidName(string name)
    {
        if (name.Length == 0 || !(name[0] == '_' || char.IsAsciiLetter(name[0])))
            return false;
        foreach (var c in name)
        {
            if (!(c == '_' || char.IsAsciiLetterOrDigit(c))) return false;
        }
        return true;
    }
}
