using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Whether a job's own user could read a file that supd, as root, opened on the job's behalf. An <c>env-file</c> of a
/// job that runs as another user is often that user's to write (<c>env-file -/home/svc/.env</c>), and root reading it
/// must not hand the user a file it could not read itself: a planted <c>.env -&gt; /etc/shadow</c>, or a path through a
/// directory it cannot enter. Checked on what was opened: the fd's real path (from <c>/proc/self/fd</c>), each
/// directory on it searchable and the file readable by the user's uid, gid and groups, by mode bits as access(2) would.
/// ACLs are not read, so a file only an ACL lets the user read is refused: the safe side.
/// </summary>
internal static unsafe class ReadableBy
{
    private const int Read = 4, Search = 1;

    /// <summary>
    /// Null when <paramref name="credentials"/>' user may read the file open as <paramref name="fd"/>, whose fstat the
    /// caller already made (<paramref name="opened"/>); else why not.
    /// </summary>
    public static string? Problem(int fd, in Libc.Statx opened, Credentials credentials)
    {
        if (credentials.Uid is not { } uid || uid == 0) return null; // root, or supd's own user: no one else's input
        var gid = credentials.Gid ?? uid;
        var groups = credentials.Groups ?? [];
        string? real;
        try
        {
            real = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            real = null;
        }
        if (real is null || !real.StartsWith('/')) return "Permission denied (cannot tell where it is, to check its user may read it)";

        if (!Allows(opened, uid, gid, groups, Read)) return $"Permission denied (uid {uid} may not read it)";
        Libc.Statx stat;
        for (var directory = Path.GetDirectoryName(real); !string.IsNullOrEmpty(directory); directory = Path.GetDirectoryName(directory))
        {
            using var native = new NativeString(directory);
            if (Libc.StatX(Libc.AT_FDCWD, native.Pointer, 0, Libc.STATX_BASIC_STATS, &stat) != 0) return $"{directory}: {Errno.Last.Message}";
            if (!Allows(stat, uid, gid, groups, Search)) return $"Permission denied (uid {uid} may not enter {directory})";
        }
        return null;
    }

    private static bool Allows(in Libc.Statx stat, uint uid, uint gid, IReadOnlyList<uint> groups, int bit)
    {
        var mode = stat.Mode;
        if (stat.Uid == uid) return ((mode >> 6) & bit) != 0;
        if (stat.Gid == gid || groups.Contains(stat.Gid)) return ((mode >> 3) & bit) != 0;
        return (mode & bit) != 0;
    }
}
