using System.Security.Cryptography;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>install.sh into a temporary DESTDIR: what it lays out, and that a second run changes nothing.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class InstallScriptTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task Install_lays_out_binaries_directories_and_unit_and_a_second_run_changes_nothing()
    {
        await using var h = new SupdHarness();
        // Stand-ins for the native binaries: install.sh copies them and asks supd for its version.
        var bin = Path.Combine(h.Root, "bin");
        Directory.CreateDirectory(bin);
        File.Move(h.WriteScript("supd", "echo 'supd (supd 9.9.9)'\n"), Path.Combine(bin, "supd"));
        File.Move(h.WriteScript("supctl", "exit 0\n"), Path.Combine(bin, "supctl"));
        var dest = Path.Combine(h.Root, "dest");
        string[] args = ["--destdir", dest, "--prefix", "/opt/supd", "--bin-from", bin];

        var first = await SupdHarness.RunCtlAsync(Path.Combine(Binaries.RepositoryRoot, "install.sh"), args);
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(first.Stdout, Does.Contain("installed: supd (supd 9.9.9)"));
        var tree = Snapshot(dest);
        foreach (var path in new[] { "opt/supd/bin/supd", "opt/supd/bin/supctl", "etc/supd/init/", "var/log/supd/", "var/lib/supd/",
                     "etc/systemd/system/supd.service", "opt/supd/share/doc/supd/README.md" })
            Assert.That(tree.Keys, Does.Contain(path));
        var unit = File.ReadAllText(Path.Combine(dest, "etc/systemd/system/supd.service"));
        Assert.That(unit, Does.Contain("ExecStart=/opt/supd/bin/supd\n").And.Contain("Type=notify").And.Contain("KillMode=process").And.Contain("RestartKillSignal=SIGUSR2").And.Contain("FileDescriptorStoreMax="));
        Assert.That(File.GetUnixFileMode(Path.Combine(dest, "var/lib/supd")), Is.EqualTo((UnixFileMode)0b111_101_000));

        File.WriteAllText(Path.Combine(dest, "etc/supd/init/mine.conf"), "exec sleep 1\n");
        var second = await SupdHarness.RunCtlAsync(Path.Combine(Binaries.RepositoryRoot, "install.sh"), args);
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        var again = Snapshot(dest);
        again.Remove("etc/supd/init/mine.conf", out var mine);
        Assert.That(again, Is.EqualTo(tree), "the second run changed nothing");
        Assert.That(mine, Is.Not.Null, "a job file is kept");
    }

    // Every path under root (directories end in '/') with its content hash and mode.
    private static Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            path => Path.GetRelativePath(root, path) + (Directory.Exists(path) ? "/" : ""),
            path => (Directory.Exists(path) ? "dir" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))) + " " + File.GetUnixFileMode(path));
}
