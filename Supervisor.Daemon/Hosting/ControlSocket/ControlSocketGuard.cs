using System.Net.Sockets;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// Makes sure this supd is the only one serving its socket. A lock file beside the socket is held (flock(2), LOCK_EX)
/// for supd's whole life: a second supd fails to take it and says so. With the lock held, a socket
/// file that is still there was left by a dead supd and is removed, unless something answers on it. The lock file is
/// opened below its directory without following a symlink, and the directory was checked first (not writable by
/// group or others).
/// </summary>
public sealed class ControlSocketGuard : IDisposable
{
    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPathBytes = 107;

    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _lock;

    private ControlSocketGuard(string socketPath, Microsoft.Win32.SafeHandles.SafeFileHandle lockStream)
    {
        SocketPath = socketPath;
        _lock = lockStream;
    }

    public string SocketPath { get; }

    /// <summary>The lock's descriptor (a re-exec hands it over, so the lock is held throughout).</summary>
    public int LockFd => (int)_lock.DangerousGetHandle();

    /// <summary>After a re-exec: the lock the previous image held (still held: flock belongs to the open file) and its socket, kept as they are.</summary>
    public static ControlSocketGuard Inherit(string socketPath, int lockFd)
    {
        Supervisor.Core.Interop.Libc.SetCloseOnExec(lockFd, true);
        return new ControlSocketGuard(socketPath, new Microsoft.Win32.SafeHandles.SafeFileHandle(lockFd, ownsHandle: true));
    }

    public static ControlSocketGuard Acquire(string socketPath)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(socketPath) > MaxSocketPathBytes)
            throw new StartupException($"socket path is too long ({socketPath.Length} > {MaxSocketPathBytes} bytes): {socketPath}");
        var directory = Path.GetDirectoryName(socketPath)!;
        // Anyone who can write the directory can replace the socket (or its lock) with their own: a group member
        // who did received root's `supctl start db DB_PASSWORD=…`.
        DirectoryCreator.EnsureTrusted(directory, "socket directory", "--socket",
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        Microsoft.Win32.SafeHandles.SafeFileHandle lockStream;
        try
        {
            // Opened without following a symlink (Core/Processes/NoFollowFile), 0600.
            lockStream = Supervisor.Core.Processes.NoFollowFile.OpenLocked(socketPath + ".lock", 0x180)
                ?? throw new StartupException($"another supd is already running on {socketPath}");
        }
        catch (IOException e)
        {
            throw new StartupException($"cannot create {socketPath}.lock: {e.Message}");
        }

        if (File.Exists(socketPath))
        {
            if (IsAnswering(socketPath))
            {
                lockStream.Dispose();
                throw new StartupException($"another supd is already running on {socketPath}");
            }
            File.Delete(socketPath); // stale: left by a supd that died
        }
        return new ControlSocketGuard(socketPath, lockStream);
    }

    private static bool IsAnswering(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try { File.Delete(SocketPath); } catch (IOException) { }
        try { File.Delete(SocketPath + ".lock"); } catch (IOException) { }
        _lock.Dispose();
    }
}
