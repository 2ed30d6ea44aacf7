using Supervisor.Core.Language;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// supd's <c>env-file PATH</c>: <c>KEY=VALUE</c> lines. Blank lines and lines starting with <c>#</c> are skipped; an
/// optional <c>export </c> prefix is allowed; a value may be in double quotes (<c>\"</c>, <c>\\</c>, <c>\$</c>,
/// <c>\`</c> and <c>\n</c> escapes) or single quotes (literal); an unquoted value is the rest of the line without
/// surrounding blanks, taken literally (no <c>$VAR</c> expansion, no inline comments), as <c>env</c> stanzas are.
/// A malformed line fails the read with <c>PATH:LINE: message</c>, so a typo never starts a job with half its settings.
/// </summary>
public static class EnvFile
{
    /// <summary>Reads every file in order; a missing optional (<c>-PATH</c>) file is skipped. False with a message on error.</summary>
    /// <param name="readAs">
    /// The job's user when it runs as another user than supd: each file must be one that user could read itself
    /// (<see cref="Processes.ReadableBy"/>), so a <c>.env</c> it plants as a link to a root-only file is refused, not read.
    /// </param>
    public static bool TryRead(IReadOnlyList<EnvFileReference> files, out List<KeyValuePair<string, string>> values, out string? error,
        Processes.Credentials? readAs = null)
    {
        values = [];
        error = null;
        foreach (var file in files)
        {
            string text;
            try
            {
                text = RegularFile.ReadAllText(file.Path, Limits.MaxEnvFileBytes, readAs);
            }
            catch (FileTooLargeException e)
            {
                // Checked before a byte is read: the file's owner (often the job's own user) cannot make supd hold it.
                error = $"unable to read env-file: {file.Path}: {e.Message}";
                return false;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                if (file.Optional) continue;
                error = $"unable to read env-file: {file.Path}: No such file or directory";
                return false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"unable to read env-file: {file.Path}: {(e is UnauthorizedAccessException ? (e.Message.StartsWith("Permission denied", StringComparison.Ordinal) ? e.Message : "Permission denied") : e.Message)}";
                return false;
            }
            if (!TryParse(text, file.Path, values, out error)) return false;
        }
        return true;
    }

    /// <summary>Parses one file's text, appending to <paramref name="values"/>.</summary>
    public static bool TryParse(string text, string path, List<KeyValuePair<string, string>> values, out string? error)
    {
        error = null;
        var lines = text.Split('\n');
        var count = 0;
        for (var n = 0; n < lines.Length; n++)
        {
            if (lines[n].Length > Limits.MaxEnvFileLineBytes)
            {
                error = $"{path}:{n + 1}: line too long ({Limits.Bytes(lines[n].Length)} > {Limits.Bytes(Limits.MaxEnvFileLineBytes)})";
                return false;
            }
            var line = lines[n].TrimEnd('\r').Trim(' ', '\t');
            if (line.Length == 0 || line[0] == '#') continue;
            if (line.StartsWith("export ", StringComparison.Ordinal)) line = line[7..].TrimStart(' ', '\t');
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? line : line[..eq].TrimEnd(' ', '\t');
            if (eq < 0 || !IsName(key))
            {
                error = $"{path}:{n + 1}: expected KEY=VALUE";
                return false;
            }
            if (!TryValue(line[(eq + 1)..].TrimStart(' ', '\t'), out var value, out var problem))
            {
                error = $"{path}:{n + 1}: {problem}";
                return false;
            }
            if (++count > Limits.MaxEnvFileVariables)
            {
                error = $"{path}:{n + 1}: too many variables (more than {Limits.MaxEnvFileVariables})";
                return false;
            }
            if (value.IndexOf('\0', StringComparison.Ordinal) >= 0)
            {
                error = $"{path}:{n + 1}: NUL character in the value of {key}";
                return false;
            }
            values.Add(new(key, value));
        }
        return true;
    }

    private static bool IsName(string key) =>
        key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static bool TryValue(string raw, out string value, out string? problem)
    {
        problem = null;
        value = raw;
        if (raw.Length == 0 || (raw[0] != '"' && raw[0] != '\'')) return true;
        var quote = raw[0];
        var result = new System.Text.StringBuilder();
        var i = 1;
        for (; i < raw.Length && raw[i] != quote; i++)
        {
            if (quote == '"' && raw[i] == '\\' && i + 1 < raw.Length)
            {
                var next = raw[++i];
                if (next == 'n') result.Append('\n');
                else if (next is '"' or '\\' or '$' or '`') result.Append(next);
                else result.Append('\\').Append(next);
                continue;
            }
            result.Append(raw[i]);
        }
        if (i >= raw.Length)
        {
            problem = $"unterminated {(quote == '"' ? "double" : "single")} quote";
            return false;
        }
        var rest = raw[(i + 1)..].Trim(' ', '\t');
        if (rest.Length > 0 && rest[0] != '#')
        {
            problem = "unexpected text after the closing quote";
            return false;
        }
        value = result.ToString();
        return true;
    }
}
