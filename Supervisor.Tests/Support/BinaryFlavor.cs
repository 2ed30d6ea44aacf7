using NUnit.Framework;

namespace Supervisor.Tests.Support;

/// <summary>
/// One build of supd and supctl: the JIT build of this tree (<c>dotnet build</c>), or the NativeAOT single files that
/// <c>./build.sh</c> publishes. With <c>SUPD_TEST_BIN_DIR</c> set to the latter's directory (as <c>.ci/run</c> does),
/// every <see cref="IntegrationFixture"/> runs twice, once per flavor, so the shipped binaries pass the same suite.
/// </summary>
public sealed class BinaryFlavor
{
    public const string BinDirVariable = "SUPD_TEST_BIN_DIR";

    private BinaryFlavor(string name, string? directory)
    {
        Name = name;
        Directory = directory;
    }

    /// <summary>The build tree's binaries (apphost + managed assemblies, run by the JIT).</summary>
    public static BinaryFlavor Jit { get; } = new("jit", null);

    /// <summary>The NativeAOT binaries in <c>SUPD_TEST_BIN_DIR</c> (relative to the repository), or null when unset.</summary>
    public static BinaryFlavor? Native { get; } = Environment.GetEnvironmentVariable(BinDirVariable) is { Length: > 0 } dir
        ? new("native", Path.GetFullPath(dir, Binaries.RepositoryRoot))
        : null;

    public string Name { get; }

    /// <summary>The directory holding both binaries, or null for the build tree.</summary>
    public string? Directory { get; }

    public bool IsNative => Directory is not null;

    /// <summary>
    /// How this flavour's fork server clones, as <c>supctl version</c> says it: as vfork does for NativeAOT on x86-64
    /// (VforkTrampoline), else as fork does.
    /// </summary>
    public string ForkServerClone => IsNative && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture ==
        System.Runtime.InteropServices.Architecture.X64 ? "(vfork clone)" : "(fork clone)";

    public string Supd => Binary("Supervisor.Daemon", "supd");
    public string Supctl => Binary("Supervisor.Ctl", "supctl");

    /// <summary>The fixture arguments of every integration fixture: the JIT build, and the native one when named.</summary>
    public static IEnumerable<TestFixtureData> Selected()
    {
        yield return Fixture(Jit);
        if (Native is { } native) yield return Fixture(native);
    }

    public override string ToString() => Name;

    private static TestFixtureData Fixture(BinaryFlavor flavor)
    {
        var data = new TestFixtureData(flavor).SetArgDisplayNames(flavor.Name);
        data.Properties.Add("Category", flavor.IsNative ? "Native" : "Jit");
        return data;
    }

    private string Binary(string project, string name)
    {
        var path = Directory is { } dir
            ? Path.Combine(dir, name)
            : Path.Combine(Binaries.RepositoryRoot, project, "bin", Binaries.Configuration, "net10.0", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{name} ({Name}) is not built: {path}");
    }
}

/// <summary>
/// A fixture whose tests drive supd and supctl as built binaries; it runs once per <see cref="BinaryFlavor"/>, and
/// <see cref="Binaries"/> answers with its flavor's paths while its tests run.
/// </summary>
public abstract class IntegrationFixture(BinaryFlavor flavor)
{
    public BinaryFlavor Flavor { get; } = flavor;

    /// <summary>
    /// Starts a supd for the fixture's tests to share (from a <c>OneTimeSetUp</c>; the fixture disposes it in its
    /// <c>OneTimeTearDown</c>), and checks it is this fixture's build: the harness finds its binaries through the
    /// running test's fixture.
    /// </summary>
    protected async Task<SupdHarness> StartSharedSupdAsync()
    {
        var supd = new SupdHarness();
        try
        {
            await supd.StartAsync();
            Assert.That(new FileInfo($"/proc/{supd.SupdPid}/exe").LinkTarget, Is.EqualTo(Flavor.Supd), $"the shared supd is the {Flavor} build");
            return supd;
        }
        catch
        {
            await supd.DisposeAsync();
            throw;
        }
    }
}
