using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Starts one of supd's own helper processes (the fd holder, the fork server) by posix_spawn: a session of its own
/// (supd's process group and terminal signals never reach it), every signal at its default and none blocked, stdin on
/// /dev/null, stdout and stderr supd's own or /dev/null, one fd of supd's handed over at a fixed number and no other,
/// in /.
/// </summary>
internal static class HelperProcess
{
    /// <summary>0 with the helper's <paramref name="pid"/>, or the errno of the spawn.</summary>
    public static unsafe int Spawn(IReadOnlyList<string> argv, IReadOnlyList<string> environment, int handed, int handedAs,
        bool quiet, out int pid)
    {
        using var file = new NativeString(argv[0]);
        using var root = new NativeString("/");
        using var devNull = new NativeString("/dev/null");
        using var argvNative = new NativeStringArray(argv);
        using var envp = new NativeStringArray(environment);
        byte* attr = stackalloc byte[Libc.SpawnAttrSize];
        byte* actions = stackalloc byte[Libc.FileActionsSize];
        byte* mask = stackalloc byte[Libc.SigSetSize];
        byte* defaults = stackalloc byte[Libc.SigSetSize];
        Libc.SpawnAttrInit(attr);
        Libc.FileActionsInit(actions);
        try
        {
            Libc.SpawnAttrNewSessionCleanSignals(attr, mask, defaults);
            Libc.FileActionsAddOpen(actions, 0, devNull.Pointer, Libc.O_RDONLY, 0);
            if (quiet)
            {
                Libc.FileActionsAddOpen(actions, 1, devNull.Pointer, Libc.O_WRONLY, 0);
                Libc.FileActionsAddOpen(actions, 2, devNull.Pointer, Libc.O_WRONLY, 0);
            }
            Libc.FileActionsAddDup2(actions, handed, handedAs);
            Libc.FileActionsAddChdir(actions, root.Pointer);
            Libc.FileActionsAddCloseFrom(actions, handedAs + 1);
            return Libc.PosixSpawn(out pid, file.Pointer, actions, attr, argvNative.Pointer, envp.Pointer);
        }
        finally
        {
            Libc.FileActionsDestroy(actions);
            Libc.SpawnAttrDestroy(attr);
        }
    }
}
