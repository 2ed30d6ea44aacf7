namespace Supervisor.Core.Interop;

/// <summary>
/// Native entry points, one file per call family (as the .NET runtime's Interop/ folder is laid out).
/// Raw fds and pointers stay inside Interop/ and Processes/; everything else sees pids and handles.
/// </summary>
internal static partial class Libc
{
    internal const string Name = "libc";
}
