using System.Text;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// <c>supctl completion bash</c>: the shipped completion/supctl.bash (embedded, so the two never differ) with
/// <c>_supctl_bin</c> set to this binary's path, registered for supctl and any names given (aliases).
/// </summary>
internal static class CompletionScript
{
    private const string BinaryLine = "_supctl_bin=\"\"";
    private const string CompleteLine = "complete -F _supctl supctl";

    public static string Bash(string binary, IReadOnlyList<string> names)
    {
        using var stream = typeof(CompletionScript).Assembly.GetManifestResourceStream("supctl.bash")
            ?? throw new InvalidOperationException("supctl.bash is not embedded in supctl");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var script = reader.ReadToEnd();
        var complete = string.Join(' ', [CompleteLine, .. names.Select(Quote)]);
        return script.Replace(BinaryLine, "_supctl_bin=" + Quote(binary), StringComparison.Ordinal)
            .Replace(CompleteLine, complete, StringComparison.Ordinal);
    }

    // One shell word, whatever the path holds: single quotes, each ' written as '\''.
    private static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
