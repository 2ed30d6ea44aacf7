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
        var environment = SupdEnvironment.Current;

        // The job dirs as supd resolves them (SupervisionOptions), without the checks of the other settings.
        var configuration = SupdConfiguration.Add(new ConfigurationBuilder(), commandLine, configFile, environment).Build();
        var options = configuration.Get<SupervisionOptions>() ?? new SupervisionOptions();
        options.ResolveJobDirs(SupdConfiguration.JobDirFlags(commandLine), environment);
        var jobDirs = options.JobDirs;

        var missing = jobDirs.Where(d => !Directory.Exists(d)).ToList();
        foreach (var dir in missing) error.WriteLine($"supd: job directory {dir} does not exist");

        var result = JobDirectoryLoader.Load(jobDirs);
        foreach (var parseError in result.Errors) output.WriteLine(parseError.ToString());
        output.WriteLine($"{result.Jobs.Count} jobs OK, {result.Errors.Count} with errors");
        return result.Errors.Count == 0 && missing.Count == 0 ? 0 : 1;
    }
}
