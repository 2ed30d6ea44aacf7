using System.Runtime.Versioning;
using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>conformance-cases.md section D (file discovery and overrides), on real temporary directories.</summary>
[TestFixture]
[SupportedOSPlatform("linux")]   // supd is Linux-only; the tests use Unix file modes and symlinks
public sealed class ConformanceDiscoveryTests
{
    private string _root = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _root = Path.Combine(Path.GetTempPath(), "supd-lang-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        // Restore permissions changed by the unreadable-file test so the delete works.
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var file in Directory.EnumerateFiles(_root, "*", options))
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.Delete(_root, recursive: true);
    }

    private string Write(string relative, string text, string? root = null)
    {
        var path = Path.Combine(root ?? _root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private JobLoadResult Load() => JobDirectoryLoader.Load([_root]);

    [Test]
    public void C46_OverrideReplacesAndAdds()
    {
        var conf = Write("a.conf", "env A=1\nexec sleep 1000\n");
        var over = Write("a.override", "env B=2\nexec sleep 1001\n");
        var result = Load();
        Assert.That(result.Errors, Is.Empty);
        var job = result.Jobs.Single();
        Assert.That(job.Name, Is.EqualTo("a"));
        Assert.That(job.Main!.Text, Is.EqualTo("sleep 1001"));
        Assert.That(job.Env, Is.EqualTo(new[] { "A=1", "B=2" }));
        Assert.That(job.SourcePath, Is.EqualTo(conf));
        Assert.That(job.OverridePath, Is.EqualTo(over));
    }

    [Test]
    public void C47_ManualOverride()
    {
        Write("b.conf", "start on foo\nexec sleep 1000\n");
        Write("b.override", "manual\n");
        var job = Load().Jobs.Single();
        Assert.That(job.Manual, Is.True);
        Assert.That(job.StartOn, Is.Null);
    }

    [Test]
    public void C49_OrphanOverride()
    {
        Write("d.override", "exec sleep 1\n");
        var result = Load();
        Assert.That(result.Jobs, Is.Empty);
        Assert.That(result.Errors, Is.Empty);
    }

    [Test]
    public void InvalidOverrideIsRejectedWhole()
    {
        Write("c.conf", "start on foo\nexec sleep 1000\n");
        var over = Write("c.override", "start on bar\nbogus\n");
        var result = Load();
        Assert.That(result.Jobs, Is.Empty);
        var error = result.Errors.Single();
        Assert.That(error.Path, Is.EqualTo(over));
        Assert.That(error.Line, Is.EqualTo(2));
        Assert.That(error.Message, Does.StartWith(JobParser.OverrideRejectedPrefix + "Unknown stanza"));
    }

    [Test]
    public void NamesSuffixesHiddenFilesAndSkippedDirectories()
    {
        Write("net/apache.conf", "exec apache\n");
        Write(".foo.conf", "exec foo\n");
        Write(".conf", "exec nameless\n");
        Write("x.conf~", "exec backup\n");
        Write("y.conf.dpkg-old", "exec old\n");
        Write(".hidden/h.conf", "exec hidden\n");
        Write("old.dpkg-old/o.conf", "exec o\n");
        Write("sub/deeper/z.conf", "exec z\n");
        var result = Load();
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Jobs.Select(j => j.Name), Is.EqualTo(new[] { ".foo", "net/apache", "sub/deeper/z" }));
    }

    [Test]
    public void BrokenConfIsReportedAndOthersStillLoad()
    {
        Write("good.conf", "exec true\n");
        var bad = Write("bad.conf", "exec true\nfoo bar\n");
        var result = Load();
        Assert.That(result.Jobs.Select(j => j.Name), Is.EqualTo(new[] { "good" }));
        Assert.That(result.Errors.Single().ToString(), Is.EqualTo($"{bad}:2: Unknown stanza 'foo'"));
    }

    [Test]
    public void FirstDirectoryOwnsAJobName()
    {
        var second = Path.Combine(_root, "second");
        var first = Path.Combine(_root, "first");
        Write("a.conf", "exec first\n", first);
        Write("a.conf", "exec second\n", second);
        Write("b.conf", "exec only-second\n", second);
        var result = JobDirectoryLoader.Load([first, second, Path.Combine(_root, "missing")]);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Jobs.Select(j => (j.Name, j.Main!.Text)), Is.EqualTo(new[] { ("a", "first"), ("b", "only-second") }));
    }

    [Test]
    public void SymlinksAreFollowed()
    {
        var elsewhere = Path.Combine(_root, "..", Path.GetFileName(_root) + "-target");
        try
        {
            var conf = Write("t.conf", "exec linked\n", elsewhere);
            var jobs = Path.Combine(_root, "jobs");
            Directory.CreateDirectory(jobs);
            File.CreateSymbolicLink(Path.Combine(jobs, "l.conf"), conf);
            Directory.CreateSymbolicLink(Path.Combine(jobs, "dir"), elsewhere);
            Directory.CreateSymbolicLink(Path.Combine(jobs, "dir2"), elsewhere);
            Directory.CreateSymbolicLink(Path.Combine(jobs, "loop"), jobs);
            var result = JobDirectoryLoader.Load([jobs]);
            Assert.That(result.Errors, Is.Empty);
            Assert.That(result.Jobs.Select(j => j.Name), Is.EqualTo(new[] { "dir/t", "dir2/t", "l" }), "the loop is not followed");
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Test]
    public void UnreadableFileBecomesAnErrorNotAnException()
    {
        if (Environment.UserName == "root")
            Assert.Ignore("root can read a mode-000 file");
        var path = Write("secret.conf", "exec true\n");
        File.SetUnixFileMode(path, UnixFileMode.None);
        var result = Load();
        Assert.That(result.Jobs, Is.Empty);
        Assert.That(result.Errors.Single().ToString(), Is.EqualTo($"{path}: Unable to read file: Permission denied"));
    }
    [Test]
    public void A_FIFO_or_a_device_named_conf_is_refused_without_blocking_and_the_rest_loads()
    {
        Write("good.conf", "exec true\n");
        var fifo = Path.Combine(_root, "fifo.conf");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        var device = Path.Combine(_root, "zero.conf");
        File.CreateSymbolicLink(device, "/dev/zero");

        // Before, the FIFO blocked this call forever (open waits for a writer) and /dev/zero never ended.
        var result = Task.Run(Load).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

        Assert.That(result.Jobs.Select(j => j.Name), Is.EqualTo(new[] { "good" }));
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            $"{fifo}: Unable to read file: Not a regular file (a FIFO)",
            $"{device}: Unable to read file: Not a regular file (a character device)",
        }));
    }
}
