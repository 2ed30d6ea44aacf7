namespace Supervisor.Core.Processes;

/// <summary>
/// The name a main process's output pipe is kept under outside supd (the pipe keeper: systemd's file descriptor store,
/// or supd's fd holder), so that the next supd, after a crash or a restart, finds it again: the instance's start tag
/// (unguessable, one per start), the pid, and the stream. At most 64 characters of <c>[A-Za-z0-9.-]</c>.
/// </summary>
public static class KeptPipeName
{
    public static string For(string tag, int pid, bool errorStream) =>
        $"{tag}-{pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{(errorStream ? "err" : "out")}";

    /// <summary>A name <see cref="For"/> could have made (checked before a name read from a state file is used).</summary>
    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_');
}
