using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>reload-configuration's diff, decided without a loop: added, changed, removed, revived, rejected.</summary>
[TestFixture]
public sealed class ConfigurationDiffTests
{
    // As the directory loader gives it: the file's text tells a changed file.
    private static JobDefinition Job(string name, string text = "exec /bin/true") =>
        (JobParser.Parse(name, $"/etc/supd/{name}.conf", text).Job ?? throw new ArgumentException(text)) with { SourceText = text };

    private static JobLoadResult Disk(params JobDefinition[] jobs) => new(jobs, []);

    [Test]
    public void NewChangedUnchangedAndGoneJobs()
    {
        var plan = ConfigurationDiff.Plan(
            [(Job("same"), false), (Job("edited"), false), (Job("gone"), false)],
            Disk(Job("same"), Job("edited", "exec /bin/false"), Job("new")));
        Assert.That(plan.Added.Select(d => d.Name), Is.EqualTo(new[] { "new" }));
        Assert.That(plan.Changed, Is.EqualTo(new[] { "edited" }));
        Assert.That(plan.Redefined.Single().Main!.Text, Does.Contain("/bin/false"));
        Assert.That(plan.Removed, Is.EqualTo(new[] { "gone" }));
        Assert.That(plan.Revived, Is.Empty);
    }

    [Test]
    public void AJobWhoseFileWasRejectedKeepsItsDefinition()
    {
        var broken = new ParseError("/etc/supd/web.conf", 3, "Unknown stanza");
        var plan = ConfigurationDiff.Plan([(Job("web"), false)], new JobLoadResult([], [broken]));
        Assert.That(plan.Removed, Is.Empty);
        Assert.That(plan.Redefined, Is.Empty);
    }

    [Test]
    public void ARejectedOverrideOrDirectoryAboveCountsAsTheJobsFileToo()
    {
        var overrideError = new ParseError("/etc/supd/web.override", 1, "bad");
        var directoryError = new ParseError("/etc/supd/", 0, "unreadable");
        Assert.That(ConfigurationDiff.Plan([(Job("web"), false)], new JobLoadResult([], [overrideError])).Removed, Is.Empty);
        Assert.That(ConfigurationDiff.Plan([(Job("web"), false)], new JobLoadResult([], [directoryError])).Removed, Is.Empty);
        var elsewhere = new ParseError("/etc/supd/other.conf", 1, "bad");
        Assert.That(ConfigurationDiff.Plan([(Job("web"), false)], new JobLoadResult([], [elsewhere])).Removed, Is.EqualTo(new[] { "web" }));
    }

    [Test]
    public void ARemovedJobBackOnDiskIsRevivedAndCountsAsAdded()
    {
        var plan = ConfigurationDiff.Plan([(Job("web"), true), (Job("db"), true)], Disk(Job("web", "exec /bin/false"), Job("a-new")));
        Assert.That(plan.Revived, Is.EqualTo(new[] { "web" }));
        Assert.That(plan.Redefined.Select(d => d.Name), Is.EqualTo(new[] { "web" }), "its new text applies");
        Assert.That(plan.Changed, Is.Empty);
        Assert.That(plan.Removed, Is.Empty, "db is being removed already");
        Assert.That(plan.Changes([]).Added, Is.EqualTo(new[] { "a-new", "web" }));
    }
}
