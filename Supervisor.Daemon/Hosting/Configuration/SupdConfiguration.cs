using Supervisor.Core.Configuration;

namespace Supervisor.Daemon.Hosting;

/// <summary>Who supd runs as and the environment its defaults are read from (the real ones, or a test's).</summary>
public sealed record SupdEnvironment(uint Uid, Func<string, string?> Variables)
{
    public static SupdEnvironment Current { get; } = new(DefaultPaths.CurrentUid, Environment.GetEnvironmentVariable);
}

/// <summary>
/// supd's configuration sources, lowest to highest: supd.json (--config FILE, else the default one if present),
/// SUPD_* environment variables, the flags. Every options class (<see cref="SupervisionOptions"/>,
/// <see cref="JobLogOptions"/>, …) binds its keys from the root of the result.
/// </summary>
public static class SupdConfiguration
{
    /// <summary>Adds the sources; a --config that does not exist is a <see cref="StartupException"/>.</summary>
    public static IConfigurationBuilder Add(IConfigurationBuilder configuration, IReadOnlyDictionary<string, string?> commandLine,
        string? configFile, SupdEnvironment environment)
    {
        var explicitConfig = configFile is not null;
        configFile ??= DefaultPaths.ConfigFile(environment.Uid, environment.Variables);
        if (explicitConfig && !File.Exists(configFile)) throw new StartupException($"configuration file not found: {configFile}");
        return configuration
            .AddJsonFile(configFile, optional: true, reloadOnChange: false)
            .AddEnvironmentVariables("SUPD_")
            .AddInMemoryCollection(commandLine);
    }

    /// <summary>
    /// The --job-dir flags in order, or null when none was given. They replace the job dirs of lower sources, which
    /// the configuration would otherwise merge by index (a flag would replace only supd.json's first dir).
    /// </summary>
    public static IReadOnlyList<string>? JobDirFlags(IReadOnlyDictionary<string, string?> commandLine)
    {
        var flags = commandLine.Where(k => k.Key.StartsWith("JobDirs:", StringComparison.OrdinalIgnoreCase)).Select(k => k.Value!).ToList();
        return flags.Count == 0 ? null : flags;
    }
}
