using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>Credentials: user and group database lookups (getpwnam_r, getgrnam_r, getgrouplist), set*id, setgroups.</summary>
internal static unsafe partial class Libc
{
    /// <summary>struct passwd (glibc, 64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    /// <summary>struct group (glibc, 64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    /// <summary>Returns an error number (0 with a null result means "no such user").</summary>
    [LibraryImport(Name, EntryPoint = "getpwnam_r")]
    internal static partial int GetPwNamR(byte* name, Passwd* entry, byte* buffer, nuint size, Passwd** result);

    /// <summary>Returns an error number (0 with a null result means "no such group").</summary>
    [LibraryImport(Name, EntryPoint = "getgrnam_r")]
    internal static partial int GetGrNamR(byte* name, Group* entry, byte* buffer, nuint size, Group** result);

    [LibraryImport(Name, EntryPoint = "getpwuid_r")]
    internal static partial int GetPwUidR(uint uid, Passwd* entry, byte* buffer, nuint size, Passwd** result);

    [LibraryImport(Name, EntryPoint = "getgrgid_r")]
    internal static partial int GetGrGidR(uint gid, Group* entry, byte* buffer, nuint size, Group** result);

    /// <summary>Changes a file's owner and group; <see cref="uint.MaxValue"/> (-1) leaves one unchanged.</summary>
    [LibraryImport(Name, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chown(string path, uint owner, uint group);

    /// <summary>-1 when <paramref name="count"/> was too small (it then holds the number needed).</summary>
    [LibraryImport(Name, EntryPoint = "getgrouplist")]
    internal static partial int GetGroupList(byte* user, uint group, uint* groups, int* count);

    [LibraryImport(Name, EntryPoint = "setgroups", SetLastError = true)]
    internal static partial int SetGroups(nuint count, uint* groups);

    [LibraryImport(Name, EntryPoint = "setgid", SetLastError = true)]
    internal static partial int SetGid(uint gid);

    [LibraryImport(Name, EntryPoint = "setuid", SetLastError = true)]
    internal static partial int SetUid(uint uid);

    [LibraryImport(Name, EntryPoint = "getgid")]
    internal static partial uint GetGid();

    [LibraryImport(Name, EntryPoint = "getegid")]
    internal static partial uint GetEgid();
}
