using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>What cgroup detection asks the kernel: may supd write there (access), is it a delegated subtree (xattr).</summary>
internal static unsafe partial class Libc
{
    internal const int W_OK = 2;

    [LibraryImport(Name, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Access(string path, int mode);

    [LibraryImport(Name, EntryPoint = "getxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GetXattr(string path, string name, byte* value, nuint size);
}
