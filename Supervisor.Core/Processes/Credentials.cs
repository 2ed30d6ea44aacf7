using System.Globalization;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// What <c>setuid</c> and <c>setgid</c> resolve to: the ids to switch to, the supplementary groups (initgroups), and
/// the passwd entry's name and home for USER, LOGNAME and HOME. Null ids mean "keep supd's".
/// </summary>
/// <remarks>
/// Resolved by supd before the spawn, not by the helper after chroot: without <c>chroot</c> through the system's
/// user database (getpwnam_r, getgrnam_r, getgrouplist, so NSS works), with <c>chroot</c> from the chroot's own
/// <c>etc/passwd</c> and <c>etc/group</c>, which is what Upstart's lookup after chroot(2) read in practice.
/// </remarks>
public sealed record Credentials(uint? Uid, uint? Gid, IReadOnlyList<uint>? Groups, string? UserName, string? Home)
{
    public static readonly Credentials Unchanged = new(null, null, null, null, null);

    public bool ChangesIds => Uid is not null || Gid is not null || Groups is not null;

    /// <summary>Resolves the settings' user and group; on failure returns Upstart's message.</summary>
    public static Credentials? Resolve(ProcessSettings settings, out string? error)
    {
        error = null;
        if (settings.Setuid is null && settings.Setgid is null) return Unchanged;

        UserEntry? user = null;
        if (settings.Setuid is { } userName)
        {
            user = settings.Chroot is null ? LookUpUser(userName) : FromFile(settings.Chroot, "etc/passwd", userName, ParseUser);
            if (user is null)
            {
                error = $"unable to find setuid user: {userName}";
                return null;
            }
        }
        uint? gid = user?.Gid;
        if (settings.Setgid is { } groupName)
        {
            var group = settings.Chroot is null ? LookUpGroup(groupName) : FromFile(settings.Chroot, "etc/group", groupName, ParseGroup);
            if (group is null)
            {
                error = $"unable to find setgid group: {groupName}";
                return null;
            }
            gid = group.Value;
        }

        var euid = Libc.GetEuid();
        if (euid != 0)
        {
            // Not root: only a "change" to what supd already is can be honoured.
            if (user is not null && user.Uid != euid)
            {
                error = "setuid needs supd to run as root";
                return null;
            }
            if (gid is { } g && g != Libc.GetEgid())
            {
                error = "setgid needs supd to run as root";
                return null;
            }
            return new Credentials(null, null, null, user?.Name, user?.Home);
        }

        // As root: initgroups for a user (with the setgid group if given, as Upstart passes it); for setgid alone,
        // the supplementary groups are reduced to that group so root's own never reach the job.
        IReadOnlyList<uint> groups = user is null
            ? [gid!.Value]
            : settings.Chroot is null ? GroupList(user.Name, gid!.Value) : GroupsFromFile(settings.Chroot, user.Name, gid!.Value);
        return new Credentials(user?.Uid, gid, groups, user?.Name, user?.Home);
    }

    internal sealed record UserEntry(string Name, uint Uid, uint Gid, string Home);

    internal static unsafe UserEntry? LookUpUser(string name)
    {
        using var native = new NativeString(name);
        var pointer = native.Pointer;
        return WithGrowingBuffer<UserEntry>((buffer, size) =>
        {
            Libc.Passwd entry;
            Libc.Passwd* result;
            var rc = Libc.GetPwNamR(pointer, &entry, buffer, size, &result);
            return (rc, result is null ? null : new UserEntry(Utf8(entry.Name), entry.Uid, entry.Gid, Utf8(entry.Dir)));
        });
    }

    internal static unsafe uint? LookUpGroup(string name)
    {
        using var native = new NativeString(name);
        var pointer = native.Pointer;
        return WithGrowingBuffer<GroupId>((buffer, size) =>
        {
            Libc.Group entry;
            Libc.Group* result;
            var rc = Libc.GetGrNamR(pointer, &entry, buffer, size, &result);
            return (rc, result is null ? null : new GroupId(entry.Gid));
        })?.Gid;
    }

    internal sealed record GroupId(uint Gid);

    internal unsafe delegate (int Rc, T? Value) ReentrantLookup<T>(byte* buffer, nuint size) where T : class;

    /// <summary>
    /// Calls a getpw*_r/getgr*_r lookup with a buffer that grows while the answer does not fit (ERANGE);
    /// null when there is no such entry or the lookup fails.
    /// </summary>
    internal static unsafe T? WithGrowingBuffer<T>(ReentrantLookup<T> lookup) where T : class
    {
        for (var size = 4096; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            (int Rc, T? Value) answer;
            fixed (byte* b = buffer) answer = lookup(b, (nuint)size);
            if (answer.Rc == Errno.ERANGE) continue;
            return answer.Rc == 0 ? answer.Value : null;
        }
        return null;
    }

    internal static unsafe IReadOnlyList<uint> GroupList(string user, uint gid)
    {
        using var native = new NativeString(user);
        var count = 64;
        while (true)
        {
            var groups = new uint[count];
            int n = count;
            int rc;
            fixed (uint* g = groups) rc = Libc.GetGroupList(native.Pointer, gid, g, &n);
            if (rc >= 0) return groups[..n];
            if (n <= count) n = count * 2;
            count = n;
        }
    }

    internal static unsafe string Utf8(byte* text) => text is null ? "" : new string((sbyte*)text);

    private static T? FromFile<T>(string root, string file, string name, Func<string[], T?> parse) where T : class
    {
        foreach (var fields in Entries(root, file))
            if (fields[0] == name && parse(fields) is { } found) return found;
        return null;
    }

    private static uint? FromFile(string root, string file, string name, Func<string[], uint?> parse)
    {
        foreach (var fields in Entries(root, file))
            if (fields[0] == name && parse(fields) is { } found) return found;
        return null;
    }

    private static IEnumerable<string[]> Entries(string root, string file)
    {
        string[] lines;
        try { lines = File.ReadAllLines(Path.Combine(root, file)); }
        catch (IOException) { yield break; }
        catch (UnauthorizedAccessException) { yield break; }
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            yield return line.Split(':');
        }
    }

    private static UserEntry? ParseUser(string[] f) =>
        f.Length >= 7 && uint.TryParse(f[2], CultureInfo.InvariantCulture, out var uid) && uint.TryParse(f[3], CultureInfo.InvariantCulture, out var gid)
            ? new UserEntry(f[0], uid, gid, f[5])
            : null;

    private static uint? ParseGroup(string[] f) =>
        f.Length >= 3 && uint.TryParse(f[2], CultureInfo.InvariantCulture, out var gid) ? gid : null;

    private static List<uint> GroupsFromFile(string root, string user, uint gid)
    {
        var groups = new List<uint> { gid };
        foreach (var f in Entries(root, "etc/group"))
        {
            if (f.Length < 4 || ParseGroup(f) is not { } g || groups.Contains(g)) continue;
            if (f[3].Split(',').Contains(user, StringComparer.Ordinal)) groups.Add(g);
        }
        return groups;
    }
}
