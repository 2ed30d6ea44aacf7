using System.Globalization;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Survival;

/// <summary>
/// sd_listen_fds_with_names(3) for the pipes systemd's fd store hands back at start: <c>LISTEN_PID</c> must be supd's
/// pid, <c>LISTEN_FDS</c> fds follow from fd 3, <c>LISTEN_FDNAMES</c> names them (colon-separated; a missing name is
/// "unknown"). Only pipes with a valid name are taken; any other fd (a socket, a file, a name supd never gives) is
/// closed and logged, and so is every fd past <see cref="Limits.MaxKeptPipes"/>. Of two fds with one name the later
/// is kept.
/// </summary>
public static class ListenFds
{
    public const string PidVariable = "LISTEN_PID", CountVariable = "LISTEN_FDS", NamesVariable = "LISTEN_FDNAMES";

    /// <summary>The first fd systemd passes (SD_LISTEN_FDS_START).</summary>
    public const int Start = 3;

    /// <summary>
    /// The pipes passed: name → fd, close-on-exec set. Nothing is touched unless <paramref name="listenPid"/> is
    /// <paramref name="ownPid"/> (the variables were meant for another process, inherited through supd).
    /// </summary>
    internal static Dictionary<string, int> Parse(string? listenPid, string? listenFds, string? listenFdNames,
        int ownPid, int startFd, ILogger log, int max = Limits.MaxKeptPipes)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!int.TryParse(listenPid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid != ownPid) return result;
        if (!int.TryParse(listenFds, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0) return result;
        var names = string.IsNullOrEmpty(listenFdNames) ? [] : listenFdNames.Split(':');
        for (var i = 0; i < count; i++)
        {
            var fd = startFd + i;
            // An fd number beyond what could be open is no fd of ours: stop rather than close a stranger's.
            if (fd < startFd) break;
            var name = i < names.Length ? names[i] : "unknown";
            if (!Libc.SetCloseOnExec(fd, true)) continue; // not open
            string? refused = null;
            if (result.Count >= max) refused = $"more than {max} pipes passed";
            else if (!PipeKeeper.IsValidName(name)) refused = "not a pipe name supd gives";
            else if (Libc.FileType(fd) != Libc.S_IFIFO) refused = "not a pipe";
            if (refused is not null)
            {
                PipeKeeperLog.RecoveredDropped(log, fd, PipeKeeper.Quote(name), refused);
                Libc.Close(fd);
                continue;
            }
            if (result.TryGetValue(name, out var earlier))
            {
                PipeKeeperLog.RecoveredDropped(log, earlier, name, "a later fd has the same name");
                Libc.Close(earlier);
            }
            result[name] = fd;
        }
        return result;
    }

    /// <summary>True for a <c>KEY=VALUE</c> entry of one of the three variables.</summary>
    public static bool IsListenVariable(string entry) =>
        entry.StartsWith(PidVariable + "=", StringComparison.Ordinal) || entry.StartsWith(CountVariable + "=", StringComparison.Ordinal) ||
        entry.StartsWith(NamesVariable + "=", StringComparison.Ordinal);

    /// <summary>
    /// Reads and then unsets the three variables, so no job inherits them. (Unset in .NET's copy: /proc/self/environ
    /// keeps them, so <see cref="Handover.SelfExec.Environment"/> leaves them out of a re-exec's environment.)
    /// </summary>
    internal static Dictionary<string, int> TakeFromEnvironment(ILogger log)
    {
        var result = Parse(Environment.GetEnvironmentVariable(PidVariable), Environment.GetEnvironmentVariable(CountVariable),
            Environment.GetEnvironmentVariable(NamesVariable), Environment.ProcessId, Start, log);
        foreach (var name in new[] { PidVariable, CountVariable, NamesVariable }) Environment.SetEnvironmentVariable(name, null);
        return result;
    }
}
