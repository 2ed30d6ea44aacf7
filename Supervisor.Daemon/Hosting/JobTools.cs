using Supervisor.Core.Processes;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// Upstart jobs call <c>initctl</c>, <c>start</c>, <c>stop</c>, <c>status</c>… from their scripts. supd keeps a
/// directory of links with those names to supctl (which acts by the name it was called by) and puts it first in every
/// job's PATH, with the socket in <c>SUPD_SOCKET</c>, so those calls reach this supd.
/// </summary>
public static class JobTools
{
    public static readonly string[] Names = ["initctl", "start", "stop", "restart", "reload", "status"];

    /// <summary>Creates <c>STATEDIR/bin</c> with the links; returns it, or null (with the reason) when supctl is not found.</summary>
    public static string? Install(string stateDir, string? configured, out string? problem)
    {
        problem = null;
        var supctl = FindSupctl(configured);
        if (supctl is null)
        {
            problem = "supctl not found beside supd or in PATH; jobs cannot call initctl/start/stop (set Supctl in supd.json)";
            return null;
        }
        var bin = Path.Combine(stateDir, "bin");
        DirectoryCreator.Ensure(bin, "job tools directory");
        foreach (var name in Names)
        {
            var link = Path.Combine(bin, name);
            if (File.Exists(link) || new FileInfo(link).LinkTarget is not null) File.Delete(link);
            File.CreateSymbolicLink(link, supctl);
        }
        return bin;
    }

    private static string? FindSupctl(string? configured)
    {
        if (!string.IsNullOrEmpty(configured)) return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        var beside = Path.Combine(AppContext.BaseDirectory, "supctl");
        if (File.Exists(beside)) return beside;
        // A build tree: Supervisor.Daemon/bin/CONFIG/net10.0/ beside Supervisor.Ctl/bin/CONFIG/net10.0/.
        var separator = Path.DirectorySeparatorChar;
        var tree = AppContext.BaseDirectory.Replace($"{separator}Supervisor.Daemon{separator}bin{separator}", $"{separator}Supervisor.Ctl{separator}bin{separator}", StringComparison.Ordinal);
        var built = Path.Combine(tree, "supctl");
        if (File.Exists(built)) return built;
        return CommandLine.FindInPath("supctl", Environment.GetEnvironmentVariable("PATH"));
    }
}
