using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>An errno value with its strerror text, captured right after the failing call.</summary>
public readonly record struct Errno(int Value)
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ECHILD = 10, EAGAIN = 11, EACCES = 13,
        EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28, ENOEXEC = 8, ERANGE = 34,
        ENOMEM = 12, ENFILE = 23, EMFILE = 24;

    /// <summary>Out of a resource that comes back by itself (fds, processes, memory): worth trying again later.</summary>
    public bool IsTransient => Value is EAGAIN or ENOMEM or ENFILE or EMFILE;

    /// <summary>The errno of the last P/Invoke marked SetLastError.</summary>
    public static Errno Last => new(Marshal.GetLastPInvokeError());

    public string Message => Marshal.GetPInvokeErrorMessage(Value);

    public override string ToString() => Message;
}
