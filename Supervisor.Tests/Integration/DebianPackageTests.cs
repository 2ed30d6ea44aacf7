using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// packaging/deb/make-deb.sh (what <c>./build.sh --deb</c> runs) on stand-in binaries, read back with dpkg-deb: the
/// layout, the control fields and the maintainer scripts. Nothing is installed (that needs root and changes the machine).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DebianPackageTests
{
    private static string MakeDeb => Path.Combine(Binaries.RepositoryRoot, "packaging", "deb", "make-deb.sh");

    private string _root = null!;

    [SetUp]
    public void SetUp()
    {
        if (!File.Exists("/usr/bin/dpkg-deb")) Assert.Ignore("dpkg-deb is not installed (not a Debian system)");
        _root = Directory.CreateTempSubdirectory("supd-deb-").FullName;
    }

    [TearDown]
    public void TearDown()
    {
        if (_root is not null) Directory.Delete(_root, recursive: true);
    }

    // Stand-ins for the native binaries: make-deb.sh copies them and asks supd for its version.
    private string StandIns(string version)
    {
        var bin = Path.Combine(_root, "bin");
        Directory.CreateDirectory(bin);
        foreach (var (name, body) in new[] { ("supd", $"echo 'supd (supd {version})'\n"), ("supctl", "exit 0\n"), ("supd-exec", "exit 127\n") })
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, "#!/bin/sh\n" + body);
            File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        }
        return bin;
    }

    private static async Task<CtlResult> Run(string program, params string[] args) =>
        await SupdHarness.RunCtlAsync(program, args, TimeSpan.FromSeconds(120));

    [Test]
    public async Task The_package_holds_binaries_unit_completion_docs_and_job_dir_with_maintainer_scripts()
    {
        var version = File.ReadLines(Path.Combine(Binaries.RepositoryRoot, "packaging", "deb", "changelog")).First()
            .Split('(', ')')[1];
        var upstream = version[..version.LastIndexOf('-')];
        var outDir = Path.Combine(_root, "out");

        var made = await Run(MakeDeb, "--bin-from", StandIns(upstream), "--out", outDir);
        Assert.That(made.ExitCode, Is.Zero, made.ToString());
        var deb = Path.Combine(outDir, $"supd_{version}_amd64.deb");
        Assert.That(made.Stdout, Does.Contain("built: " + deb));

        var contents = await Run("/usr/bin/dpkg-deb", "-c", deb);
        Assert.That(contents.ExitCode, Is.Zero, contents.ToString());
        // "-rwxr-xr-x root/root 35 2026-12-04 22:48 ./usr/bin/supd": mode, owner and path of each entry.
        var entries = contents.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => f[^1], f => (Mode: f[0], Owner: f[1]));
        Assert.That(entries.Values.Select(e => e.Owner).Distinct(), Is.EqualTo(new[] { "root/root" }));
        foreach (var (path, mode) in new[]
                 {
                     ("./usr/bin/supd", "-rwxr-xr-x"), ("./usr/bin/supctl", "-rwxr-xr-x"), ("./usr/bin/supd-exec", "-rwxr-xr-x"),
                     ("./lib/systemd/system/supd.service", "-rw-r--r--"),
                     ("./usr/share/bash-completion/completions/supctl", "-rw-r--r--"),
                     ("./usr/share/doc/supd/copyright", "-rw-r--r--"), ("./usr/share/doc/supd/changelog.Debian.gz", "-rw-r--r--"),
                     ("./usr/share/doc/supd/README.md", "-rw-r--r--"), ("./etc/supd/init/", "drwxr-xr-x"),
                     ("./usr/share/man/man8/supd.8.gz", "-rw-r--r--"), ("./usr/share/man/man8/supd-exec.8.gz", "-rw-r--r--"), ("./usr/share/man/man1/supctl.1.gz", "-rw-r--r--"),
                 })
        {
            Assert.That(entries.ContainsKey(path), Is.True, $"{path} in\n{contents.Stdout}");
            Assert.That(entries[path].Mode, Is.EqualTo(mode), path);
        }
        // Job files, logs and state are the admin's and supd's: the package ships none of them.
        Assert.That(entries.Keys.Where(p => p.StartsWith("./etc/", StringComparison.Ordinal)),
            Is.EquivalentTo(new[] { "./etc/", "./etc/supd/", "./etc/supd/init/" }));
        Assert.That(entries.Keys.Where(p => p.StartsWith("./var/", StringComparison.Ordinal)), Is.Empty);

        var info = await Run("/usr/bin/dpkg-deb", "-I", deb);
        Assert.That(info.ExitCode, Is.Zero, info.ToString());
        Assert.That(info.Stdout, Does.Contain(" Package: supd\n").And.Contain($" Version: {version}\n")
            .And.Contain(" Architecture: amd64\n").And.Contain(" Depends: libc6"));
        Assert.That(info.Stdout, Does.Not.Contain("conffiles"));
        // The maintainer scripts are there, executable, and parse as sh.
        var control = Path.Combine(_root, "control");
        var unpacked = await Run("/usr/bin/dpkg-deb", "-e", deb, control);
        Assert.That(unpacked.ExitCode, Is.Zero, unpacked.ToString());
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
        {
            var path = Path.Combine(control, script);
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo((UnixFileMode)0b111_101_101), script);
            var syntax = await Run("/bin/sh", "-n", path);
            Assert.That(syntax.ExitCode, Is.Zero, $"{script}: {syntax}");
        }

        var extracted = Path.Combine(_root, "x");
        var extract = await Run("/usr/bin/dpkg-deb", "-x", deb, extracted);
        Assert.That(extract.ExitCode, Is.Zero, extract.ToString());
        var service = File.ReadAllText(Path.Combine(extracted, "lib/systemd/system/supd.service"));
        Assert.That(service, Does.Contain("ExecStart=/usr/bin/supd\n").And.Contain("Documentation=file:///usr/share/doc/supd/README.md")
            .And.Not.Contain("/usr/local"));
    }

    [Test]
    public async Task A_binary_whose_version_has_no_changelog_entry_is_refused()
    {
        var made = await Run(MakeDeb, "--bin-from", StandIns("99.0.0"), "--out", Path.Combine(_root, "out"));
        Assert.That(made.ExitCode, Is.EqualTo(1), made.ToString());
        Assert.That(made.Stderr, Does.Contain("supd is 99.0.0: add an entry"));
        Assert.That(Directory.Exists(Path.Combine(_root, "out")), Is.False, "no package written");
    }
}
