using Supervisor.Core.Configuration;
using Supervisor.Core.Language;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// <c>supd --check</c>: parse every job file of the configured job dirs and report, like <c>nginx -t</c>, without
/// starting anything: no socket, no lock, no directories, no log files. One <c>PATH:LINE: message</c> line per rejected
/// file, then <c>N jobs OK, M with errors</c>. Exit 0 when every file parses, 1 otherwise (also when a job dir is
/// missing, which would load nothing).
/// </summary>
public static class JobFileCheck
{
    public static int Run(IReadOnlyDictionary<string, string?> commandLine, string? configFile, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Func<string, string?> environment = Environment.GetEnvironmentVariable;
        var uid = DefaultPaths.CurrentUid;

        var configuration = new ConfigurationBuilder();
        SupdHost.AddConfiguration(configuration, commandLine, configFile, uid, environment);
        var options = SupdHost.BindOptions(configuration.Build(), commandLine);
        var jobDirs = SupdHost.ResolvePaths(options, uid, environment).JobDirs;

        var missing = jobDirs.Where(d => !Directory.Exists(d)).ToList();
        foreach (var dir in missing) error.WriteLine($"supd: job directory {dir} does not exist");

        var result = JobDirectoryLoader.Load(jobDirs);
        foreach (var parseError in result.Errors) output.WriteLine(parseError.ToString());
        output.WriteLine($"{result.Jobs.Count} jobs OK, {result.Errors.Count} with errors");
        return result.Errors.Count == 0 && missing.Count == 0 ? 0 : 1;
    }
}
