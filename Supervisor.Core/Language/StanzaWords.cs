namespace Supervisor.Core.Language;

/// <summary>
/// The words of the stanzas that take one word out of a fixed set (<c>console log</c>, <c>expect fork</c>), in the
/// order Upstart's error message lists them: the parser reads word → value from here, the printer and messages
/// value → word, so a new mode is one more row.
/// </summary>
public static class StanzaWords
{
    public static IReadOnlyList<(string Word, ConsoleMode Value)> Console { get; } =
        [("log", ConsoleMode.Log), ("none", ConsoleMode.None), ("output", ConsoleMode.Output), ("owner", ConsoleMode.Owner)];

    public static IReadOnlyList<(string Word, ExpectMode Value)> Expect { get; } =
        [("stop", ExpectMode.Stop), ("daemon", ExpectMode.Daemon), ("fork", ExpectMode.Fork), ("none", ExpectMode.None)];

    /// <summary><c>log</c>, <c>none</c>, <c>output</c> or <c>owner</c>.</summary>
    public static string Name(this ConsoleMode mode) => WordOf(Console, mode);

    /// <summary><c>none</c>, <c>stop</c>, <c>fork</c> or <c>daemon</c>.</summary>
    public static string Name(this ExpectMode mode) => WordOf(Expect, mode);

    private static string WordOf<T>(IReadOnlyList<(string Word, T Value)> words, T value) where T : struct, Enum
    {
        foreach (var (word, candidate) in words)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value)) return word;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, null);
    }
}
