using System.Reflection;

namespace Supervisor.Tests.Support;

/// <summary>
/// Where the built supd and supctl are: the tests drive the real binaries, as a user would. By default the build
/// tree's (JIT) binaries; with <c>SUPD_TEST_BIN_DIR</c> set, the ones in that directory (the NativeAOT binaries of
/// <c>./build.sh --test-native</c>).
/// </summary>
public static class Binaries
{
    public const string BinDirVariable = "SUPD_TEST_BIN_DIR";

    /// <summary>The directory named by <c>SUPD_TEST_BIN_DIR</c>, or null for the build tree.</summary>
    public static string? BinDir { get; } = Environment.GetEnvironmentVariable(BinDirVariable) is { Length: > 0 } dir ? Path.GetFullPath(dir) : null;

    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");
    public static string Configuration { get; } = Metadata("BuildConfiguration");

    public static string Supd => Binary("Supervisor.Daemon", "supd");
    public static string Supctl => Binary("Supervisor.Ctl", "supctl");

    /// <summary>The shared research material (spec, corpus), beside the repository.</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

    private static string Binary(string project, string name)
    {
        var path = BinDir is { } dir ? Path.Combine(dir, name) : Path.Combine(RepositoryRoot, project, "bin", Configuration, "net10.0", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{name} is not built: {path}");
    }

    private static string Metadata(string key) =>
        typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
