namespace Supervisor.Daemon.Hosting;

/// <summary>Creates supd's directories at start-up, with a one-line error naming the path when it cannot.</summary>
public static class DirectoryCreator
{
    public const UnixFileMode DefaultMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// <see cref="Ensure"/>, then refuses a directory that someone else could plant files in (see
    /// <see cref="Supervisor.Core.Processes.NoFollowFile.UnsafeDirectory"/>): supd opens files there as root.
    /// </summary>
    public static void EnsureTrusted(string path, string what, string option, UnixFileMode mode = DefaultMode)
    {
        Ensure(path, what, mode);
        if (Supervisor.Core.Processes.NoFollowFile.UnsafeDirectory(path) is { } problem)
            throw new StartupException($"unsafe {what} {path}: {problem} (or choose another {option})");
    }

    public static void Ensure(string path, string what, UnixFileMode mode = DefaultMode)
    {
        if (Directory.Exists(path)) return;
        try
        {
            Directory.CreateDirectory(path, mode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot create {what} {path}: {e.Message}");
        }
    }
}
