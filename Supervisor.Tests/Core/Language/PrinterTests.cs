using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

[TestFixture]
public sealed class PrinterTests
{
    private static void AssertRoundTrip(string text)
    {
        var job = JobAssert.Parses(text);
        var printed = JobPrinter.Print(job);
        var reparsed = JobParser.Parse("x", "printed.conf", printed);
        Assert.That(reparsed.Error, Is.Null, () => $"{reparsed.Error}\n{printed}");
        Assert.That(JobAssert.Differences(job, reparsed.Job!), Is.Empty, () => printed);
    }

    [TestCase("env A=\"a b\"\nenv B='x\"y'\nenv C=\"it's\"\nenv D=back\\\\slash\nenv E=\"tab\there\"\nenv F=\"h#sh\"\n")]
    [TestCase("description \"both ' and \\\" quotes\"\n")]
    [TestCase("start on (a and \"and\") or b KEY=\"x y\" P!=\"(z)\"\nstop on runlevel [!2345]\n")]
    [TestCase("start on foo\nmanual\nstart on bar\n")]
    [TestCase("manual\n")]
    [TestCase("respawn\nrespawn limit 0 5\nrespawn delay 0.25 8\nnormal exit 0 2 TERM\ncritical\nlog rotate 50M 10\nlog timestamps\n")]
    [TestCase("start on startup\nstart grace 2.5\nrespawn\n")]
    [TestCase("health script\n  curl -fs localhost\nend script\nhealth interval 2.5\nhealth timeout 1\nhealth retries 5\nhealth start-period 60\nexec /bin/srv\n")]
    [TestCase("umask 007\nnice -5\noom 3\nlimit nofile 10 unlimited\nkill signal 40\nkill timeout 0\nreload signal USR1\n")]
    [TestCase("cgroup cpu \"my group\" # c\nenv-file \"-/etc/x y\"\n")]
    [TestCase("exec /bin/sh -c 'echo \"a  b\" # not a comment'   # comment\n")]
    [TestCase("script\n  if true; then\n    echo \"x\"\n  fi\n\nend script\npre-stop script\nend script\ncheck exec /bin/check\n")]
    [TestCase("instance $NAME\nexport A B\nemits foo-*\nusage \"u\"\nsetuid u\nsetgid g\nchroot /c\nchdir /d\napparmor load /p\napparmor switch q\n")]
    public void RoundTrips(string text) => AssertRoundTrip(text);

    [Test]
    public void A_loaded_job_parses_again_from_its_source_text_override_included()
    {
        var dir = Directory.CreateTempSubdirectory("supd-reparse-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "web.conf"), "start on startup\nrespawn\nexec /bin/web\n");
            File.WriteAllText(Path.Combine(dir, "web.override"), "manual\nkill timeout 9\n");
            var loaded = JobDirectoryLoader.Load([dir]).Jobs.Single();

            var again = JobDirectoryLoader.Reparse("web", loaded.SourceText);

            Assert.That(again, Is.Not.Null);
            Assert.That(again!.SourceText, Is.EqualTo(loaded.SourceText));
            Assert.That(JobAssert.Differences(loaded, again), Is.Empty);
            Assert.That(again.KillTimeout, Is.EqualTo(TimeSpan.FromSeconds(9)), "the override went over too");
            Assert.That(JobDirectoryLoader.Reparse("web", "not a source"), Is.Null);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void PrintsExpressionsFullyParenthesised()
    {
        var printed = JobPrinter.Print(JobAssert.Parses("start on a or b and c KEY=val\n"));
        Assert.That(printed, Is.EqualTo("start on ((a or b) and c KEY=val)\n"));
    }

    [Test]
    public void QuoteOnlyWhenNeeded()
    {
        Assert.That(JobPrinter.Quote("plain"), Is.EqualTo("plain"));
        Assert.That(JobPrinter.Quote("two words"), Is.EqualTo("\"two words\""));
        Assert.That(JobPrinter.Quote("a\"b"), Is.EqualTo("\"a\"'\"b'"));
    }
}
