using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>epoll, for the output pumps (a few threads watch every job's output pipe) and the reaper (a pidfd per child).</summary>
internal static unsafe partial class Libc
{
    internal const int EPOLL_CLOEXEC = 0x80000;
    internal const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    internal const uint EPOLLIN = 0x1, EPOLLERR = 0x8, EPOLLHUP = 0x10;
    internal const int F_GETFL = 3, F_SETFL = 4;

    /// <summary>
    /// struct epoll_event is packed on x86-64 (12 bytes: events, then the 64-bit data at offset 4) and naturally
    /// aligned elsewhere (16 bytes, data at offset 8); the pumps read and write it through these offsets.
    /// </summary>
    internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>Room for <paramref name="count"/> events, whatever the architecture's layout (16 bytes each at most).</summary>
    internal static int EpollEventsBytes(int count) => count * 16;

    /// <summary>Adds <paramref name="fd"/> for reading, tagged with <paramref name="data"/>; false (errno set) if refused.</summary>
    internal static bool EpollAdd(int epfd, int fd, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = EPOLLIN;
        *(ulong*)(ev + EpollDataOffset) = data;
        return EpollCtl(epfd, EPOLL_CTL_ADD, fd, ev) == 0;
    }

    /// <summary>The data tag of the <paramref name="index"/>th event epoll_wait returned.</summary>
    internal static ulong EpollData(byte* events, int index) => *(ulong*)(events + index * EpollEventSize + EpollDataOffset);

    [LibraryImport(Name, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    [LibraryImport(Name, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollCtl(int epfd, int op, int fd, void* @event);

    [LibraryImport(Name, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epfd, void* events, int maxEvents, int timeoutMs);
}
