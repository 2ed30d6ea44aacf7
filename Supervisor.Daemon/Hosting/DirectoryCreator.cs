namespace Supervisor.Daemon.Hosting;

/// <summary>Creates supd's directories at start-up, with a one-line error naming the path when it cannot.</summary>
public static class DirectoryCreator
{
    public const UnixFileMode DefaultMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

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
