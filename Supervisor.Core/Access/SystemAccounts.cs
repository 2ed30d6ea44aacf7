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

    public unsafe string? UserName(uint uid) => Credentials.WithGrowingBuffer<string>((buffer, size) =>
    {
        Libc.Passwd entry;
        Libc.Passwd* result;
        var rc = Libc.GetPwUidR(uid, &entry, buffer, size, &result);
        return (rc, result is null ? null : Credentials.Utf8(entry.Name));
    });

    public unsafe string? GroupName(uint gid) => Credentials.WithGrowingBuffer<string>((buffer, size) =>
    {
        Libc.Group entry;
        Libc.Group* result;
        var rc = Libc.GetGrGidR(gid, &entry, buffer, size, &result);
        return (rc, result is null ? null : Credentials.Utf8(entry.Name));
    });

    /// <summary>Sets a file's group (chown with the owner unchanged); returns the errno text on failure.</summary>
    public static string? ChangeGroup(string path, uint gid) =>
        Libc.Chown(path, uint.MaxValue, gid) == 0 ? null : new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()).Message;
}
