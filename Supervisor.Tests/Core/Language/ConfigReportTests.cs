using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>initctl's show-config and check-config output (spec §10), computed from parsed jobs.</summary>
[TestFixture]
public sealed class ConfigReportTests
{
    private static JobDefinition Job(string name, string text) => JobAssert.Parses(text, name);

    private static string Check(IReadOnlyCollection<JobDefinition> jobs, string? job = null, IEnumerable<string>? ignore = null, bool warn = false) =>
        ConfigReport.FormatProblems(ConfigReport.CheckConfig(jobs, job, ignore, warn));

    // ---- show-config ----

    [Test]
    public void ShowConfig_prints_name_emits_start_on_and_stop_on()
    {
        var jobs = new[]
        {
            Job("web", "emits web-ready\nemits web-*\nstart on filesystem and net-device-up IFACE!=lo\nstop on runlevel [!2345]\nexec web\n"),
            Job("abstract", "exec true\n"),
        };

        Assert.That(ConfigReport.ShowConfig(jobs), Is.EqualTo("""
            abstract
            web
              emits web-ready
              emits web-*
              start on (filesystem and net-device-up IFACE!=lo)
              stop on runlevel [!2345]

            """.Replace("\r", "")));
    }

    [TestCase("start on a or b and c", "  start on ((a or b) and c)\n")]
    [TestCase("start on a and b or c", "  start on ((a and b) or c)\n")]
    [TestCase("start on (a and b) or c KEY=val", "  start on ((a and b) or c KEY=val)\n")]
    [TestCase("start on runlevel [!2345]", "  start on runlevel [!2345]\n")]
    [TestCase("start on foo KEY=\"x y\"", "  start on foo KEY=x y\n")]
    public void ShowConfig_renders_expressions_fully_parenthesised_and_dequoted(string stanza, string expected)
    {
        var text = ConfigReport.ShowConfig([Job("j", stanza + "\n")]);
        Assert.That(text, Is.EqualTo("j\n" + expected));
    }

    [Test]
    public void ShowConfig_of_one_job()
    {
        var jobs = new[] { Job("a", "start on x\n"), Job("b", "start on y\n") };
        Assert.That(ConfigReport.ShowConfig(jobs, "b"), Is.EqualTo("b\n  start on y\n"));
    }

    [Test]
    public void ShowConfig_manual_hides_an_earlier_start_on()
    {
        Assert.That(ConfigReport.ShowConfig([Job("b", "start on foo\nmanual\nexec sleep 1000\n")]), Is.EqualTo("b\n"));
    }

    [Test]
    public void ShowConfig_enumerate_lists_operands_with_their_job_and_env()
    {
        var job = Job("j", """
            emits boom
            start on started a and (stopped JOB=b RESULT=failed or runlevel [2345])
            stop on stopping c X=1 or net-device-up IFACE=eth0 ADDRFAM=inet
            """);

        Assert.That(ConfigReport.ShowConfig([job], enumerate: true), Is.EqualTo("""
            j
              emits boom
              start on started (job: a, env:)
              start on stopped (job: b, env: RESULT=failed)
              start on runlevel (job:, env: [2345])
              stop on stopping (job: c, env: X=1)
              stop on net-device-up (job:, env: IFACE=eth0 ADDRFAM=inet)

            """.Replace("\r", "")));
    }

    [TestCase("start on started", "  start on started (job:, env:)\n")]
    [TestCase("start on stopped RESULT=ok JOB=x", "  start on stopped (job: x, env: RESULT=ok)\n")]
    [TestCase("start on stopped $JOB RESULT=ok", "  start on stopped (job: $JOB, env: RESULT=ok)\n")]
    [TestCase("start on stopped x RESULT=ok JOB=y", "  start on stopped (job: x, env: RESULT=ok JOB=y)\n")]
    [TestCase("start on stopped RESULT=ok", "  start on stopped (job:, env: RESULT=ok)\n")]
    [TestCase("start on foo bar", "  start on foo (job:, env: bar)\n")]
    public void ShowConfig_enumerate_finds_the_job_as_initctl_does(string stanza, string expected)
    {
        Assert.That(ConfigReport.ShowConfig([Job("j", stanza + "\n")], enumerate: true), Is.EqualTo("j\n" + expected));
    }

    // ---- check-config ----

    [Test]
    public void CheckConfig_reports_unknown_events_and_jobs()
    {
        var jobs = new[]
        {
            Job("web", "start on started db and net-up\nstop on stopping cache\n"),
            Job("db", "emits db-ready\nstart on startup\n"),
        };

        Assert.That(Check(jobs), Is.EqualTo("""
            web
              start on: unknown event net-up
              stop on: unknown job cache

            """.Replace("\r", "")));
    }

    [Test]
    public void CheckConfig_is_empty_when_everything_is_reachable()
    {
        var jobs = new[]
        {
            Job("a", "emits a-ready\nstart on startup\n"),
            Job("b", "start on a-ready and started a\nstop on stopped a RESULT=failed\n"),
            Job("c", "start on control-alt-delete or keyboard-request or power-status-changed\n"),
            Job("d", "start on filesystem and runlevel [2345]\nstop on exited\n"),
        };
        Assert.That(ConfigReport.CheckConfig(jobs), Is.Empty);
    }

    [Test]
    public void CheckConfig_reads_exited_as_a_job_event()
    {
        var jobs = new[]
        {
            Job("nagios", "exec nagios3\n"),
            Job("alert", "start on exited nagios or exited JOB=nagioss\n"),
        };
        Assert.That(Check(jobs, warn: true), Is.EqualTo("alert\n  start on: unknown job nagioss\n"));
    }

    [Test]
    public void CheckConfig_emits_are_globs()
    {
        var jobs = new[]
        {
            Job("udev", "emits *-device-added\nemits net-device-[ud]*\n"),
            Job("x", "start on block-device-added and net-device-up\nstop on net-device-removed\n"),
        };
        Assert.That(Check(jobs), Is.EqualTo("x\n  stop on: unknown event net-device-removed\n"));
    }

    [Test]
    public void CheckConfig_failed_events_follow_their_event()
    {
        var jobs = new[]
        {
            Job("a", "emits go\n"),
            Job("b", "start on go/failed or stopped/failed or startup/failed\n"),
            Job("c", "start on nothing/failed\n"),
        };
        Assert.That(Check(jobs), Is.EqualTo("c\n  start on: unknown event nothing/failed\n"));
    }

    [Test]
    public void CheckConfig_an_or_is_fine_when_one_side_is_reachable_unless_warn()
    {
        var jobs = new[] { Job("j", "start on startup or nothing\n") };

        Assert.That(Check(jobs), Is.Empty);
        Assert.That(Check(jobs, warn: true), Is.EqualTo("j\n  start on: unknown event nothing\n"));
    }

    [Test]
    public void CheckConfig_reports_every_problem_of_an_unreachable_expression()
    {
        var jobs = new[] { Job("j", "start on (a and b) or (started x and c)\n") };
        Assert.That(Check(jobs), Is.EqualTo("""
            j
              start on: unknown event a
              start on: unknown event b
              start on: unknown job x
              start on: unknown event c

            """.Replace("\r", "")));
    }

    [Test]
    public void CheckConfig_reports_an_unreachable_and_below_a_reachable_or()
    {
        // initctl: the root is satisfiable, but its first unsatisfiable operator node is still reported.
        var jobs = new[] { Job("j", "start on (startup and nothing) or startup\n") };
        Assert.That(Check(jobs), Is.EqualTo("j\n  start on: unknown event nothing\n"));
    }

    [Test]
    public void CheckConfig_ignores_events_given_with_i()
    {
        var jobs = new[] { Job("j", "start on net-up and mounted MOUNTPOINT=/\n") };

        Assert.That(Check(jobs, ignore: ["net-up", "mounted"]), Is.Empty);
        Assert.That(Check(jobs, ignore: ["net-up"]), Is.EqualTo("j\n  start on: unknown event mounted\n"));
    }

    [Test]
    public void CheckConfig_variable_job_names_are_not_checked()
    {
        Assert.That(ConfigReport.CheckConfig([Job("j", "start on stopped $WHO\n")]), Is.Empty);
    }

    [Test]
    public void CheckConfig_of_one_job_checks_it_against_all_jobs()
    {
        var jobs = new[]
        {
            Job("a", "emits ev\nstart on nowhere\n"),
            Job("b", "start on ev and started a\n"),
        };

        Assert.That(ConfigReport.CheckConfig(jobs, "b"), Is.Empty);
        Assert.That(Check(jobs, "a"), Is.EqualTo("a\n  start on: unknown event nowhere\n"));
    }

    [Test]
    public void CheckConfig_problems_are_structured()
    {
        var problems = ConfigReport.CheckConfig([Job("j", "stop on started ghost\n")]);
        Assert.That(problems, Is.EqualTo(new[] { new ConfigProblem("j", "stop on", "unknown job ghost") }));
    }

    [Test]
    public void CheckConfig_of_the_corpus_finds_the_events_Ubuntu_emitted_from_outside()
    {
        var corpus = JobAssert.CorpusDirectory;
        var jobs = JobDirectoryLoader.Load([corpus]).Jobs;

        var problems = ConfigReport.CheckConfig(jobs);

        // Events such as mounted or net-device-up came from mountall and the udev bridge's emits globs; the
        // anerd-server bug (start on start on runlevel, in both of its jobs) is an event named "start".
        Assert.That(problems.Select(p => p.Message), Does.Contain("unknown event start"));
        Assert.That(problems.Where(p => p.Message == "unknown event start").Select(p => p.Job).Distinct(),
            Is.EqualTo(new[] { "dustinkirkland_pollinate__anerd-server", "dustinkirkland_pollinate__anerd-server-tcp" }));
    }
}
