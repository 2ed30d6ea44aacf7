using System.Globalization;
using System.Text;

namespace Supervisor.Core.Logs;

/// <summary>
/// Text from users (job and instance names, variables, paths, a caller's request) as it may appear in supd's own log:
/// control characters, including newlines, are written as escapes (<c>\n</c>, <c>\x1b</c>, <c>\u2028</c>), so
/// every line of supd.log is one line supd wrote: a name carrying <c>\n2026-… [INF] access: allowed …</c> cannot
/// forge an entry, and none can move the terminal's cursor. Backslash itself is left alone: the log is for reading,
/// and a literal <c>\n</c> in a name, shown as typed, forges nothing.
/// </summary>
public static class LogText
{
    public static string Escape(string text)
    {
        var index = IndexOfUnsafe(text);
        if (index < 0) return text;
        var result = new StringBuilder(text.Length + 16);
        result.Append(text, 0, index);
        foreach (var c in text.AsSpan(index))
        {
            if (!IsUnsafe(c))
            {
                result.Append(c);
                continue;
            }
            result.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < '\u0100' => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
            });
        }
        return result.ToString();
    }

    // C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional overrides (which can
    // make a line read as something else).
    private static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u2028' or '\u2029' || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069';

    private static int IndexOfUnsafe(string text)
    {
        for (var i = 0; i < text.Length; i++)
            if (IsUnsafe(text[i])) return i;
        return -1;
    }
}
