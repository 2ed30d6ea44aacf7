using System.Reflection;

namespace Supervisor.Tests.Support;

/// <summary>Where the built supd and supctl are: the tests drive the real binaries, as a user would.</summary>
public static class Binaries
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");
    public static string Configuration { get; } = Metadata("BuildConfiguration");

    public static string Supd => Binary("Supervisor.Daemon", "supd");
    public static string Supctl => Binary("Supervisor.Ctl", "supctl");

    /// <summary>The shared research material (spec, corpus), beside the repository.</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

    private static string Binary(string project, string name)
    {
        var path = Path.Combine(RepositoryRoot, project, "bin", Configuration, "net10.0", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{name} is not built: {path}");
    }

    private static string Metadata(string key) =>
        typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
