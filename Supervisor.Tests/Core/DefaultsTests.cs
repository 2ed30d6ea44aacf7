using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core;

/// <summary>
/// <see cref="Defaults"/> holds Upstart's values (spec §3), the model and options start from it, and the docs that
/// quote a default quote its value.
/// </summary>
[TestFixture]
public sealed class DefaultsTests
{
    [Test]
    public void JobDefaultsAreUpstartsSpecThree()
    {
        Assert.That(Defaults.Job.KillTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(Signals.TryParse("TERM", out var term) && Defaults.Job.KillSignal == term, Is.True);
        Assert.That(Signals.TryParse("HUP", out var hup) && Defaults.Job.ReloadSignal == hup, Is.True);
        Assert.That(Defaults.Job.Umask, Is.EqualTo(Convert.ToInt32("022", 8)));
        Assert.That(Defaults.Job.RespawnLimit, Is.EqualTo(new RespawnLimit(10, 5)));
        Assert.That(Defaults.Job.NormalExit, Is.Empty);
        Assert.That(Defaults.Job.Console, Is.EqualTo(ConsoleMode.Log));
        Assert.That(Defaults.Job.Expect, Is.EqualTo(ExpectMode.None));
    }

    [Test]
    public void AJobWithoutStanzasHasTheDefaults()
    {
        var job = Language.JobAssert.Parses("exec /bin/true\n");
        Assert.That(job.KillTimeout, Is.EqualTo(Defaults.Job.KillTimeout));
        Assert.That(job.KillSignal, Is.EqualTo(Defaults.Job.KillSignal));
        Assert.That(job.ReloadSignal, Is.EqualTo(Defaults.Job.ReloadSignal));
        Assert.That(job.RespawnLimit, Is.EqualTo(Defaults.Job.RespawnLimit));
        Assert.That(job.NormalExit, Is.Empty);
        Assert.That(job.Console, Is.EqualTo(Defaults.Job.Console));
        Assert.That(job.Expect, Is.EqualTo(Defaults.Job.Expect));
        Assert.That(ProcessSettings.From(job).Umask, Is.EqualTo(Defaults.Job.Umask));
        Assert.That(ProcessSettings.Default.Umask, Is.EqualTo(Defaults.Job.Umask));
        // Nothing default is printed back.
        Assert.That(JobPrinter.Print(job), Is.EqualTo("exec /bin/true\n"));
    }

    [Test]
    public void OptionsStartFromTheDefaults()
    {
        var options = new SupervisorOptions();
        Assert.That(options.DefaultPath, Is.EqualTo(Defaults.Process.Path));
        Assert.That(options.DefaultTerm, Is.EqualTo(Defaults.Process.Term));
        Assert.That(options.DefaultWorkingDirectory, Is.EqualTo(Defaults.Process.WorkingDirectory));
        Assert.That(options.ExpectTimeout, Is.EqualTo(Defaults.Supervision.ExpectTimeout));
        Assert.That(options.ExpectPollInterval, Is.EqualTo(Defaults.Supervision.ExpectPollInterval));
        Assert.That(options.ExpectForkGrace, Is.EqualTo(Defaults.Supervision.ExpectForkGrace));
        Assert.That(options.ExpectDaemonSettle, Is.EqualTo(Defaults.Supervision.ExpectDaemonSettle));
        Assert.That(options.FailureOutputGrace, Is.EqualTo(Defaults.Supervision.FailureOutputGrace));
        Assert.That(options.CheckTimeout, Is.EqualTo(Defaults.Supervision.CheckTimeout));

        var logs = new LogSettings();
        Assert.That(logs.Rotation, Is.EqualTo(new LogRotation(Defaults.Logs.RotateSizeBytes, Defaults.Logs.RotateCount)));
        Assert.That(logs.InstanceLogRetention, Is.EqualTo(Defaults.Logs.InstanceLogRetention));
        // supd.json's text form of the size is the same size.
        Assert.That(JobParser.TryParseSize(Defaults.Logs.RotateSize, out var bytes), Is.True);
        Assert.That(bytes, Is.EqualTo(Defaults.Logs.RotateSizeBytes));
    }

    private static string Doc(string path) => File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, path));

    private static string Quoted(string path, string pattern)
    {
        var match = Regex.Match(Doc(path), pattern);
        Assert.That(match.Success, Is.True, $"{path} no longer quotes /{pattern}/");
        return match.Groups[1].Value;
    }

    [Test]
    public void TheDocsQuoteTheDefaults()
    {
        static string N(double value) => value.ToString(CultureInfo.InvariantCulture);
        Assert.That(Quoted("docs/job-files.md", @"\| `kill timeout` \|[^|]*\| (\S+) \|"), Is.EqualTo(N(Defaults.Job.KillTimeout.TotalSeconds)));
        Assert.That(Quoted("docs/job-files.md", @"\| `respawn limit` \|[^|]*\| `([^`]+)` \|"),
            Is.EqualTo($"{Defaults.Job.RespawnLimit.Count} {Defaults.Job.RespawnLimit.IntervalSeconds}"));
        Assert.That(Quoted("docs/job-files.md", @"\| `umask` \|[^|]*\| (\S+) \|"), Is.EqualTo("0" + Convert.ToString(Defaults.Job.Umask, 8)));
        Assert.That(Quoted("docs/job-files.md", @"\(`LogRotateSize`, `LogRotateCount`: (\S+ \S+)\)"),
            Is.EqualTo($"{Defaults.Logs.RotateSize} {Defaults.Logs.RotateCount}"));
        Assert.That(Quoted("README.md", @"`CheckTimeoutSeconds` \(default (\S+)\)"), Is.EqualTo(N(Defaults.Supervision.CheckTimeout.TotalSeconds)));
        Assert.That(Quoted("README.md", @"`EventHistory` items, default (\d+)"), Is.EqualTo(N(Defaults.Daemon.EventHistory)));
        Assert.That(Quoted("README.md", @"`EventQueueSize`, default (\d+)"), Is.EqualTo(N(Defaults.Daemon.EventQueueSize)));
        Assert.That(Quoted("README.md", @"`InstanceLogRetention` finished instances \(supd.json, default (\d+)"),
            Is.EqualTo(N(Defaults.Logs.InstanceLogRetention)));
        Assert.That(Quoted("README.md", @"Default (\d+ MiB × \d+) files"),
            Is.EqualTo($"{Defaults.Logs.RotateSizeBytes >> 20} MiB × {Defaults.Logs.RotateCount}"));
    }
}
