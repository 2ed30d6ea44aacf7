using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Language;

/// <summary>supd's <c>health</c> stanzas: the check (a row of ProcessKinds), its settings with Docker's defaults, and their bounds.</summary>
[TestFixture]
public sealed class HealthStanzaTests
{
    [Test]
    public void The_check_and_its_settings_parse_and_default_to_dockers()
    {
        var plain = JobAssert.Parses("health exec /usr/bin/probe -q\nexec /bin/srv\n");
        Assert.That(plain.Health, Is.EqualTo(new ProcessCommand(false, "/usr/bin/probe -q", 1)));
        Assert.That(plain.HealthSettings, Is.EqualTo(new HealthSettings(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 3, TimeSpan.Zero)));
        Assert.That(plain.HealthSettings, Is.SameAs(Defaults.Job.Health));
        Assert.That(ProcessKinds.Health.Command(plain), Is.SameAs(plain.Health));

        var tuned = JobAssert.Parses("health script\n  test -S /run/x.sock\nend script\nhealth interval 0.5\nhealth timeout 2\nhealth retries 1\nhealth start-period 0\n");
        Assert.That(tuned.Health!.IsScript, Is.True);
        Assert.That(tuned.HealthSettings, Is.EqualTo(new HealthSettings(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2), 1, TimeSpan.Zero)));
    }

    [TestCase("health", "Expected token after health")]
    [TestCase("health check /bin/x", "Unknown stanza 'health check'")]
    [TestCase("health interval 0.05", "Illegal interval, expected number of seconds from 0.1 to 86400")]
    [TestCase("health timeout 86401", "Illegal interval, expected number of seconds from 0.1 to 86400")]
    [TestCase("health start-period -1", "Illegal interval, expected number of seconds from 0 to 86400")]
    [TestCase("health interval ten", "Illegal interval, expected number of seconds from 0.1 to 86400")]
    [TestCase("health retries 0", "Illegal value, expected a number from 1 to 100")]
    [TestCase("health retries 101", "Illegal value, expected a number from 1 to 100")]
    public void Bad_settings_reject_the_file_naming_the_line(string line, string message) =>
        JobAssert.FailsWith("exec /bin/srv\n" + line + "\n", message, 2);
}
