using Supervisor.Core.Interop;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Access;

/// <summary>The system's user and group database (getpwnam_r, getgrnam_r, getpwuid_r, getgrgid_r: NSS applies).</summary>
public sealed class SystemAccounts : IAccountDatabase
{
    public static readonly SystemAccounts Instance = new();

    public uint? UserId(string name) => Credentials.LookUpUser(name)?.Uid;

    public uint? GroupId(string name) => Credentials.LookUpGroup(name);

    /// <summary>The user's primary group, or null when there is no such user.</summary>
    public static uint? PrimaryGroup(string name) => Credentials.LookUpUser(name)?.Gid;

    /// <summary>Every group <paramref name="name"/> is in (getgrouplist, with the primary group).</summary>
    public static IReadOnlyList<uint> GroupsOf(string name, uint primaryGroup) => Credentials.GroupList(name, primaryGroup);

    public unsafe string? UserName(uint uid)
    {
        for (var size = 4096; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            Libc.Passwd entry;
            Libc.Passwd* result;
            int rc;
            fixed (byte* b = buffer) rc = Libc.GetPwUidR(uid, &entry, b, (nuint)size, &result);
            if (rc == Errno.ERANGE) continue;
            return rc != 0 || result is null ? null : Credentials.Utf8(entry.Name);
        }
        return null;
    }

    public unsafe string? GroupName(uint gid)
    {
        for (var size = 4096; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            Libc.Group entry;
            Libc.Group* result;
            int rc;
            fixed (byte* b = buffer) rc = Libc.GetGrGidR(gid, &entry, b, (nuint)size, &result);
            if (rc == Errno.ERANGE) continue;
            return rc != 0 || result is null ? null : Credentials.Utf8(entry.Name);
        }
        return null;
    }

    /// <summary>Sets a file's group (chown with the owner unchanged); returns the errno text on failure.</summary>
    public static string? ChangeGroup(string path, uint gid) =>
        Libc.Chown(path, uint.MaxValue, gid) == 0 ? null : new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()).Message;
}
