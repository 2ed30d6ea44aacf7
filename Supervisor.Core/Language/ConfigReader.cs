using System.Text;

namespace Supervisor.Core.Language;

/// <summary>
/// The tokenizer of Upstart job files (libnih's config reader, spec §2), working on a cursor over the whole text.
/// Every primitive is a single forward scan, so parsing stays linear in the file size.
/// Errors are thrown as <see cref="ConfigSyntaxException"/> at the offset where they were detected.
/// </summary>
internal sealed class ConfigReader(string text)
{
    /// <summary>Characters that separate words: whitespace, comment start, newline.</summary>
    public const string WordDelimiters = " \t\r#\n";

    /// <summary>A command (exec) runs up to a comment or the end of the line.</summary>
    public const string CommandDelimiters = "#\n";

    /// <summary>Inside <c>start on</c> parentheses end words too.</summary>
    public const string EventDelimiters = "()" + WordDelimiters;

    private readonly StringBuilder _buffer = new();

    public string Text { get; } = text;
    public int Position { get; set; }
    public bool AtEnd => Position >= Text.Length;
    public char Current => Text[Position];

    /// <summary>Stanza name used in "Unexpected token … after X" messages.</summary>
    public string Context { get; set; } = "";

    public static bool IsSpace(char c) => c is ' ' or '\t' or '\r';

    /// <summary>True when the cursor is on something other than a comment, a newline or the end of the file.</summary>
    public bool HasToken() => Position < Text.Length && Text[Position] is not ('#' or '\n');

    /// <summary>Skips spaces and escaped newlines (a backslash directly before the newline).</summary>
    public void SkipWhitespace()
    {
        var p = Position;
        while (p < Text.Length)
        {
            var c = Text[p];
            if (c == '\\' && p + 1 < Text.Length && Text[p + 1] == '\n')
                p += 2;
            else if (IsSpace(c))
                p++;
            else
                break;
        }
        Position = p;
    }

    /// <summary>Moves past the end of the current line, whatever is on it.</summary>
    public void NextLine()
    {
        var newline = Text.IndexOf('\n', Position);
        Position = newline < 0 ? Text.Length : newline + 1;
    }

    /// <summary>Expects only a comment or the end of the line; anything else is an <c>Unexpected token</c>.</summary>
    public void SkipComment()
    {
        if (HasToken())
            throw new ConfigSyntaxException(Position, $"Unexpected token '{PeekWord()}' after {Context}");
        NextLine();
    }

    /// <summary>
    /// Reads one token ending at an unquoted, unescaped character of <paramref name="delimiters"/> and returns
    /// the copy: newlines inside quotes or after a backslash (with the whitespace around them) become one space,
    /// other whitespace runs are kept, trailing whitespace is dropped. With <paramref name="dequote"/> the quote
    /// characters are removed and <c>\\</c>, <c>\␠</c>, <c>\⇥</c> lose their backslash; any other <c>\x</c> is kept
    /// as written (we do not reproduce libnih's space-corrupting quirk, conformance C14).
    /// The cursor is left on the delimiter (or the end of the file).
    /// </summary>
    public string ReadToken(string delimiters, bool dequote)
    {
        var output = _buffer.Clear();
        var p = Position;
        var slash = false;
        var quote = '\0';
        var pendingSpaceStart = -1;   // first character of a whitespace run not yet copied
        var newlinePending = false;

        for (; p < Text.Length; p++)
        {
            var c = Text[p];
            var escaped = false;
            var isQuote = false;

            if (slash)
            {
                slash = false;
                if (c == '\n')
                {
                    newlinePending = true;
                    continue;
                }
                escaped = true;
            }
            else if (c == '\\')
            {
                slash = true;
                continue;
            }
            else if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                    isQuote = true;
                }
                else if (c == '\n')
                {
                    newlinePending = true;
                    continue;
                }
                else if (IsSpace(c))
                {
                    if (pendingSpaceStart < 0) pendingSpaceStart = p;
                    continue;
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                isQuote = true;
            }
            else if (delimiters.Contains(c))
            {
                break;
            }
            else if (IsSpace(c))
            {
                if (pendingSpaceStart < 0) pendingSpaceStart = p;
                continue;
            }

            if (newlinePending)
            {
                output.Append(' ');
            }
            else if (pendingSpaceStart >= 0)
            {
                // The run ends just before this character (or before its backslash).
                var end = escaped ? p - 1 : p;
                output.Append(Text, pendingSpaceStart, end - pendingSpaceStart);
            }

            if (escaped && !(dequote && c is '\\' or ' ' or '\t'))
                output.Append('\\');
            if (!(isQuote && dequote))
                output.Append(c);

            pendingSpaceStart = -1;
            newlinePending = false;
        }

        Position = p;
        if (slash)
            throw new ConfigSyntaxException(p, "Trailing slash in file");
        if (quote != '\0')
            throw new ConfigSyntaxException(p, "Unterminated quoted string");
        return output.ToString();
    }

    /// <summary>
    /// A non-empty token followed by any whitespace (nih_config_next_token); an empty one is <c>Expected token</c>.
    /// </summary>
    public string NextToken(string delimiters, bool dequote)
    {
        var start = Position;
        var token = ReadToken(delimiters, dequote);
        if (token.Length == 0)
            throw new ConfigSyntaxException(Position, ExpectedTokenMessage(start));
        SkipWhitespace();
        return token;
    }

    /// <summary>A dequoted word (nih_config_next_arg).</summary>
    public string NextArgument() => NextToken(WordDelimiters, dequote: true);

    /// <summary>All remaining dequoted words of the line, then the comment/newline.</summary>
    public List<string> ReadArguments()
    {
        var args = new List<string>();
        while (HasToken())
            args.Add(NextArgument());
        SkipComment();
        return args;
    }

    /// <summary>The raw rest of the line up to an unquoted <c>#</c> (spec §2.8), quotes and backslashes kept.</summary>
    public string ReadCommand()
    {
        var command = ReadToken(CommandDelimiters, dequote: false);
        SkipComment();
        return command;
    }

    /// <summary>
    /// A block up to a line <c>WS* end WS+ TYPE WS* (# …)?</c> (spec §2.9), with the common leading whitespace
    /// of its lines removed. The cursor must be at the start of the first block line.
    /// </summary>
    public string ReadBlock(string type)
    {
        var blockStart = Position;
        var prefix = -1;
        var lines = new List<int>();
        int blockEnd;
        while ((blockEnd = MatchBlockEnd(type)) < 0)
        {
            var lineStart = Position;
            lines.Add(lineStart);
            var p = lineStart;
            if (prefix < 0)
            {
                while (p < Text.Length && IsSpace(Text[p])) p++;
                prefix = p - lineStart;
            }
            else
            {
                // Shorten the candidate to what this line shares, byte for byte, with the first line.
                while (p < Text.Length && p - lineStart < prefix && Text[blockStart + (p - lineStart)] == Text[p]) p++;
                prefix = Math.Min(prefix, p - lineStart);
            }
            Position = p;
            NextLine();
            if (Position >= Text.Length)
                throw new ConfigSyntaxException(Position, $"Unterminated block: no 'end {type}' before the end of the file");
        }

        var body = new StringBuilder(blockEnd - blockStart);
        foreach (var lineStart in lines)
        {
            var from = lineStart + prefix;
            var newline = Text.IndexOf('\n', from);
            body.Append(Text, from, newline + 1 - from);
        }
        return body.ToString();
    }

    /// <summary>When the current line ends the block, moves past it and returns its start; otherwise -1.</summary>
    private int MatchBlockEnd(string type)
    {
        var p = Position;
        while (p < Text.Length && IsSpace(Text[p])) p++;
        if (Text.Length - p < 4 || string.CompareOrdinal(Text, p, "end", 0, 3) != 0 || !IsSpace(Text[p + 3]))
            return -1;
        p += 3;
        while (p < Text.Length && IsSpace(Text[p])) p++;
        if (Text.Length - p < type.Length || string.CompareOrdinal(Text, p, type, 0, type.Length) != 0)
            return -1;
        p += type.Length;
        while (p < Text.Length && IsSpace(Text[p])) p++;
        if (p < Text.Length && Text[p] == '#')
        {
            while (p < Text.Length && Text[p] != '\n') p++;
        }
        if (p < Text.Length && Text[p] != '\n')
            return -1;
        var start = Position;
        Position = p < Text.Length ? p + 1 : p;
        return start;
    }

    /// <summary>The raw word at the cursor, for messages (bounded so a huge line cannot blow up a message).</summary>
    public string PeekWord()
    {
        var p = Position;
        while (p < Text.Length && p - Position < 40 && !WordDelimiters.Contains(Text[p])) p++;
        return Text[Position..p];
    }

    private string ExpectedTokenMessage(int start) =>
        start < Text.Length && Text[start] == '#' || start >= Text.Length || Text[start] == '\n'
            ? $"Expected token after {Context}"
            : $"Expected token after {Context}: empty value";

    /// <summary>1-based line of an offset: one more than the newlines before it (as libnih counts).</summary>
    public int LineAt(int position)
    {
        // The parser asks at every stanza, moving forward: counting on from the last answer keeps a file of many
        // short lines linear (counting from the start each time was quadratic: 100 000 env lines took minutes).
        var end = Math.Min(position, Text.Length);
        if (end < _lineCountedTo)
        {
            _lineCountedTo = 0;
            _linesCounted = 1;
        }
        for (var i = _lineCountedTo; i < end; i++)
        {
            if (Text[i] == '\n') _linesCounted++;
        }
        _lineCountedTo = end;
        return _linesCounted;
    }

    private int _lineCountedTo;
    private int _linesCounted = 1;
}
