namespace Supervisor.Core.Events;

/// <summary>
/// fnmatch(3) with no flags, as Upstart matches event values (spec §5.2): <c>*</c> <c>?</c> <c>[...]</c> <c>[!...]</c>
/// (also <c>[^...]</c>), ranges and <c>[:class:]</c>; <c>*</c> crosses <c>/</c>, leading dots are not special and
/// a backslash makes the next character literal.
/// </summary>
public static class Glob
{
    public static bool Match(string pattern, string text)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(text);

        // Greedy matching with one backtrack point (the last '*'): without FNM_PATHNAME a later star can always
        // absorb what an earlier one would have, so this is exact and linear-ish (no exponential backtracking).
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length)
            {
                var c = pattern[p];
                if (c == '*')
                {
                    starP = ++p;
                    starT = t;
                    continue;
                }
                if (c == '?')
                {
                    p++;
                    t++;
                    continue;
                }
                if (c == '[' && TryMatchBracket(pattern, p, text[t], out var matched, out var next))
                {
                    if (matched)
                    {
                        p = next;
                        t++;
                        continue;
                    }
                }
                else
                {
                    var literal = c;
                    var width = 1;
                    if (c == '\\' && p + 1 < pattern.Length)
                    {
                        literal = pattern[p + 1];
                        width = 2;
                    }
                    if (literal == text[t])
                    {
                        p += width;
                        t++;
                        continue;
                    }
                }
            }

            if (starP < 0)
                return false;
            p = starP;
            t = ++starT;
        }

        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>
    /// Matches one character against the bracket expression at <paramref name="start"/>. Returns false when the
    /// bracket is not closed, in which case '[' is an ordinary character (as in fnmatch).
    /// </summary>
    private static bool TryMatchBracket(string pattern, int start, char c, out bool matched, out int next)
    {
        matched = false;
        next = start;
        var p = start + 1;
        var negate = p < pattern.Length && pattern[p] is '!' or '^';
        if (negate) p++;

        var first = true;
        var found = false;
        while (p < pattern.Length && (first || pattern[p] != ']'))
        {
            first = false;
            if (pattern[p] == '[' && p + 1 < pattern.Length && pattern[p + 1] == ':')
            {
                var close = pattern.IndexOf(":]", p + 2, StringComparison.Ordinal);
                if (close > 0)
                {
                    found |= IsInClass(pattern[(p + 2)..close], c);
                    p = close + 2;
                    continue;
                }
            }

            var low = pattern[p];
            if (low == '\\' && p + 1 < pattern.Length) low = pattern[++p];
            p++;
            var high = low;
            if (p + 1 < pattern.Length && pattern[p] == '-' && pattern[p + 1] != ']')
            {
                high = pattern[p + 1];
                p += 2;
                if (high == '\\' && p < pattern.Length) high = pattern[p++];
            }
            if (c >= low && c <= high) found = true;
        }

        if (p >= pattern.Length)
            return false;
        matched = found != negate;
        next = p + 1;
        return true;
    }

    private static bool IsInClass(string name, char c) => name switch
    {
        "alpha" => char.IsAsciiLetter(c),
        "digit" => char.IsAsciiDigit(c),
        "alnum" => char.IsAsciiLetterOrDigit(c),
        "upper" => char.IsAsciiLetterUpper(c),
        "lower" => char.IsAsciiLetterLower(c),
        "xdigit" => char.IsAsciiHexDigit(c),
        "space" => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v',
        "blank" => c is ' ' or '\t',
        "punct" => c is > ' ' and < '\x7f' && !char.IsAsciiLetterOrDigit(c),
        "print" => c is >= ' ' and < '\x7f',
        "graph" => c is > ' ' and < '\x7f',
        "cntrl" => c < ' ' || c == '\x7f',
        _ => false,
    };
}
