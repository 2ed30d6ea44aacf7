using System.Reflection;
using NUnit.Framework.Internal;

namespace Supervisor.Tests.Support;

/// <summary>
/// Where the built supd and supctl are: the tests drive the real binaries, as a user would. A test in an
/// <see cref="IntegrationFixture"/> drives its fixture's <see cref="BinaryFlavor"/> (the JIT build, or the NativeAOT
/// binaries when <c>SUPD_TEST_BIN_DIR</c> names them); every other test drives the JIT build.
/// </summary>
public static class Binaries
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");
    public static string Configuration { get; } = Metadata("BuildConfiguration");

    /// <summary>The flavor the running test drives: its fixture's, else the JIT build.</summary>
    public static BinaryFlavor Current =>
        TestExecutionContext.CurrentContext.TestObject is IntegrationFixture fixture ? fixture.Flavor : BinaryFlavor.Jit;

    public static string Supd => Current.Supd;
    public static string Supctl => Current.Supctl;

    private static string Metadata(string key) =>
        typeof(Binaries).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
