using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>The 64 real job files of TestData/upstart-corpus: same verdict as Upstart 1.12.1, and print round-trips.</summary>
[TestFixture]
public sealed class CorpusTests
{
    /// <summary>The two files Upstart rejects (SOURCES.md), with the line and message it reports.</summary>
    private static readonly Dictionary<string, (int Line, string Message)> Rejected = new()
    {
        ["ArthurSonzogni_chromiumos-platform2__arc-boot-continue.conf"] = (16, "Unknown stanza"),
        ["Jolicloud_plymouth__plymouth-stop.conf"] = (16, "Expected token"),
    };

    public static IEnumerable<TestCaseData> CorpusFiles()
    {
        foreach (var path in Directory.GetFiles(JobAssert.CorpusDirectory, "*.conf").Order(StringComparer.Ordinal))
            yield return new TestCaseData(Path.GetFileName(path)).SetArgDisplayNames(Path.GetFileName(path));
    }

    private static (string Path, string Text) Read(string fileName)
    {
        var path = Path.Combine(JobAssert.CorpusDirectory, fileName);
        return (path, File.ReadAllText(path));
    }

    [Test]
    public void CorpusHas64FilesOf_WhichUpstartRejects2()
    {
        var corpus = JobAssert.CorpusDirectory;
        var results = Directory.GetFiles(corpus, "*.conf")
            .Select(path => JobParser.Parse(Path.GetFileNameWithoutExtension(path), path, File.ReadAllText(path)))
            .ToList();
        Assert.That(results, Has.Count.EqualTo(64));
        Assert.That(results.Count(r => r.Job is not null), Is.EqualTo(62));
    }

    [TestCaseSource(nameof(CorpusFiles))]
    public void SameVerdictAsUpstart(string fileName)
    {
        var (path, text) = Read(fileName);
        var result = JobParser.Parse(Path.GetFileNameWithoutExtension(fileName), path, text);
        if (Rejected.TryGetValue(fileName, out var expected))
        {
            Assert.That(result.Error, Is.Not.Null, "Upstart rejects this file");
            Assert.That(result.Error!.Line, Is.EqualTo(expected.Line), result.Error.ToString());
            Assert.That(result.Error.Message, Does.StartWith(expected.Message), result.Error.ToString());
            Assert.That(result.Error.ToString(), Does.StartWith($"{path}:{expected.Line}: {expected.Message}"));
        }
        else
        {
            Assert.That(result.Error, Is.Null, () => result.Error!.ToString());
            Assert.That(result.Job!.SourcePath, Is.EqualTo(path));
        }
    }

    [TestCaseSource(nameof(CorpusFiles))]
    public void PrintRoundTrips(string fileName)
    {
        var (path, text) = Read(fileName);
        var job = JobParser.Parse("corpus/job", path, text).Job;
        if (job is null)
            Assert.Ignore("rejected by Upstart too; nothing to print");
        var printed = JobPrinter.Print(job);
        var reparsed = JobParser.Parse("corpus/job", "printed.conf", printed);
        Assert.That(reparsed.Error, Is.Null, () => $"{reparsed.Error}\n--- printed ---\n{printed}");
        Assert.That(JobAssert.Differences(job, reparsed.Job!), Is.Empty, () => "--- printed ---\n" + printed);
    }

    [Test]
    public void SpotChecksOfKnownFiles()
    {
        var corpus = JobAssert.CorpusDirectory;
        JobDefinition Load(string file) => JobParser.Parse("j", file, File.ReadAllText(Path.Combine(corpus, file))).Job!;

        var anerd = Load("dustinkirkland_pollinate__anerd-server-tcp.conf");
        Assert.That(anerd.StartOn!.ToString(), Is.EqualTo("start on runlevel [2345]"));

        var docker = Load("tianon_debian-docker__docker.conf");
        Assert.That(docker.Respawn, Is.True);
        Assert.That(docker.KillTimeout, Is.EqualTo(TimeSpan.FromSeconds(20)));
        Assert.That(docker.Limits.Keys, Is.SupersetOf(new[] { "nofile", "nproc" }));

        var tty = Load("ubports_upstart__tty1.conf");
        Assert.That(tty.Respawn, Is.True);
        Assert.That(tty.StartOn, Is.Not.Null);

        var checkfs = Load("zfsonlinux_mountall__checkfs.sh.conf");
        Assert.That(checkfs.Main, Is.Null, "abstract job");
        Assert.That(checkfs.StartOn, Is.Not.Null);
    }
}
