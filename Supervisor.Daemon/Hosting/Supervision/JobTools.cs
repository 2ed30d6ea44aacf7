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

    public const string NotFound = "supctl not found beside supd or in PATH; jobs cannot call initctl/start/stop (set Supctl in supd.json)";

    /// <summary>The directory of links, <c>STATEDIR/bin</c>.</summary>
    public static string Directory(string stateDir) => Path.Combine(stateDir, "bin");

    /// <summary>Creates <see cref="Directory"/> with a link per name to <paramref name="supctl"/>; returns it.</summary>
    public static string Install(string stateDir, string supctl)
    {
        var bin = Directory(stateDir);
        DirectoryCreator.Ensure(bin, "job tools directory");
        foreach (var name in Names)
        {
            var link = Path.Combine(bin, name);
            if (File.Exists(link) || new FileInfo(link).LinkTarget is not null) File.Delete(link);
            File.CreateSymbolicLink(link, supctl);
        }
        return bin;
    }

    /// <summary>The supctl to link to: the configured one (null if it does not exist), else beside supd, in the build
    /// tree, or in PATH.</summary>
    public static string? Locate(string? configured)
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
