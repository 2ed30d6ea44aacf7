using System.CommandLine;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// A mistyped verb (<c>supctl strat nagios</c>): one line, <c>unknown verb 'strat' (did you mean 'start'?)</c>, instead
/// of System.CommandLine's three (the first of which, "Required command was not provided", is false).
/// </summary>
internal static class VerbSuggestion
{
    /// <summary>The message for a command line whose first word is not a verb; null when that is not what went wrong.</summary>
    public static string? UnknownVerb(ParseResult parse, Command root)
    {
        if (parse.CommandResult.Command != root) return null;
        var word = parse.UnmatchedTokens.FirstOrDefault();
        if (word is null || word.StartsWith('-')) return null;
        return Message(word, root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
    }

    public static string Message(string word, IEnumerable<string> verbs) =>
        Nearest(word, verbs) is { } verb ? $"unknown verb '{word}' (did you mean '{verb}'?)" : $"unknown verb '{word}'";

    /// <summary>
    /// The verb nearest to <paramref name="word"/> by edit distance (a swap of two neighbours counts one), when it is
    /// close: at most 2 edits, and fewer than half the word's length, so "xyz" suggests nothing. Ties go to the first.
    /// </summary>
    public static string? Nearest(string word, IEnumerable<string> verbs)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var verb in verbs)
        {
            var distance = Distance(word, verb);
            if (distance < bestDistance)
            {
                best = verb;
                bestDistance = distance;
            }
        }
        return bestDistance <= 2 && bestDistance * 2 < word.Length ? best : null;
    }

    // Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. Words are a
    // command line's first word and verbs of a few letters; a word longer than any verb by 3 is never close anyway.
    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        var width = b.Length + 1;
        var d = new int[(a.Length + 1) * width];
        for (var i = 0; i <= a.Length; i++) d[i * width] = i;
        for (var j = 0; j <= b.Length; j++) d[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(d[(i - 1) * width + j] + 1, d[i * width + j - 1] + 1), d[(i - 1) * width + j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    best = Math.Min(best, d[(i - 2) * width + j - 2] + 1);
                d[i * width + j] = best;
            }
        }
        return d[a.Length * width + b.Length];
    }
}
