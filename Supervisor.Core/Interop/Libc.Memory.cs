using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>Anonymous pages and their protection (mmap(2), mprotect(2)): the fork server's clone trampoline.</summary>
internal static unsafe partial class Libc
{
    internal const int PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4;
    internal const int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20;
    internal static readonly nint MapFailed = -1;

    [LibraryImport(Name, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport(Name, EntryPoint = "mprotect", SetLastError = true)]
    internal static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport(Name, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);
}
