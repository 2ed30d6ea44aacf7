using Supervisor.Core.Language;

namespace Supervisor.Core.Processes;

/// <summary>
/// Turns a job's <c>exec</c> or <c>script</c> into a program and argv the way Upstart does (spec §6): scripts and
/// commands with shell characters run under <c>/bin/sh -e -c</c>; plain commands are split on whitespace and the
/// program is looked up in the job's PATH (not supd's).
/// </summary>
public static class CommandLine
{
    public const string Shell = "/bin/sh";

    // Upstart's set of characters that make an exec line go through the shell (note '=' and quotes).
    private const string ShellCharacters = "~`!$^&*()=|\\{}[];\"'<>?";

    public static bool NeedsShell(ProcessCommand command) =>
        command.IsScript || command.Text.AsSpan().IndexOfAny(ShellCharacters) >= 0;

    /// <summary>Resolves the command; on failure returns the spawn error text.</summary>
    /// <param name="root">The job's <c>chroot</c>: PATH is searched inside it.</param>
    public static bool TryResolve(ProcessCommand command, string? searchPath, out string file, out IReadOnlyList<string> argv, out string? error, string? root = null)
    {
        error = null;
        if (command.IsScript)
        {
            // A script is passed with -c whole (Upstart fed long ones through /proc/self/fd/9; -c holds up to 128 KiB).
            file = Shell;
            argv = [Shell, "-e", "-c", command.Text, Shell];
            return true;
        }
        if (NeedsShell(command))
        {
            file = Shell;
            argv = [Shell, "-e", "-c", "exec " + command.Text, Shell];
            return true;
        }
        var words = command.Text.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        argv = words;
        if (words.Length == 0)
        {
            file = "";
            error = "unable to execute: empty command";
            return false;
        }
        if (words[0].Contains('/'))
        {
            file = words[0];
            return true;
        }
        if (FindInPath(words[0], searchPath, root) is { } found)
        {
            file = found;
            return true;
        }
        file = words[0];
        error = $"cannot run {words[0]}: not found in PATH";
        return false;
    }

    /// <summary>
    /// The first executable file called <paramref name="name"/> in the directories of <paramref name="searchPath"/>,
    /// looked up under <paramref name="root"/> (a chroot) but returned as seen from inside it; null when none.
    /// </summary>
    public static string? FindInPath(string name, string? searchPath, string? root = null)
    {
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        foreach (var dir in (searchPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            var onDisk = root is null ? candidate : Path.Join(root, candidate);
            if (File.Exists(onDisk) && (File.GetUnixFileMode(onDisk) & anyExecute) != 0) return candidate;
        }
        return null;
    }
}
