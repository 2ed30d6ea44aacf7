using System.Globalization;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Keeps SIGCHLD at its default disposition, so the jobs' exit statuses reach supd's own reaper and nobody else.
/// Two things would take them away (process-control.md §2): SIGCHLD inherited as ignored (the kernel then reaps every
/// child itself, and waitid finds nothing), and, when supd is PID 1, any runtime SIGCHLD handler: as PID 1 the .NET
/// runtime's signal thread reaps every child it is told about ("reapAll"). Such a handler is installed by System.Console
/// once it writes to a terminal (a container run with -t), which supd's console log does. Restoring SIG_DFL only
/// stops that terminal bookkeeping, which a daemon does not need.
/// </summary>
public static class ChildSignalGuard
{
    private const int SigChld = 17;

    /// <summary>What /proc/self/status says of SIGCHLD: caught (a handler is installed) and ignored.</summary>
    public static (bool Caught, bool Ignored) Disposition()
    {
        bool caught = false, ignored = false;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("SigCgt:", StringComparison.Ordinal)) caught = HasSigChld(line);
            else if (line.StartsWith("SigIgn:", StringComparison.Ordinal)) ignored = HasSigChld(line);
        }
        return (caught, ignored);
    }

    /// <summary>
    /// Restores SIG_DFL when SIGCHLD is ignored, or (only when <paramref name="evenIfCaught"/>, for PID 1) caught.
    /// Returns what it found when it had to act, or null when all was well.
    /// </summary>
    public static string? Enforce(bool evenIfCaught)
    {
        var (caught, ignored) = Disposition();
        if (!ignored && !(caught && evenIfCaught)) return null;
        if (Libc.Signal(SigChld, Libc.SIG_DFL) == Libc.SIG_ERR) return $"SIGCHLD could not be reset: {Errno.Last}";
        return ignored ? "SIGCHLD was ignored" : "a SIGCHLD handler was installed";
    }

    // "SigCgt:\t0000000000014a07": a hex mask, bit N-1 for signal N.
    private static bool HasSigChld(string line) =>
        (ulong.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (SigChld - 1))) != 0;
}
