using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>supctl show-config / check-config against a real supd, and supd --check on its own.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class ConfigCommandsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static async Task<SupdHarness> StartWithJobsAsync(params (string Name, string Text)[] more)
    {
        var supd = new SupdHarness();
        supd.WriteJob("db", "emits db-ready\nstart on filesystem\nexec sleep 1000\n");
        supd.WriteJob("web", "start on started db and (db-ready or runlevel [2345])\nstop on stopping db\nexec sleep 1000\n");
        foreach (var (name, text) in more) supd.WriteJob(name, text);
        await supd.StartAsync();
        return supd;
    }

    [Test]
    public async Task Show_config_prints_every_job_in_initctls_format()
    {
        await using var supd = await StartWithJobsAsync();

        var result = await supd.CtlAsync("show-config");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(
            "db\n" +
            "  emits db-ready\n" +
            "  start on filesystem\n" +
            "web\n" +
            "  start on (started db and (db-ready or runlevel [2345]))\n" +
            "  stop on stopping db\n"));
    }

    [Test]
    public async Task Show_config_e_of_one_job_enumerates_its_operands()
    {
        await using var supd = await StartWithJobsAsync();

        var result = await supd.CtlAsync("show-config", "-e", "web");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Stdout, Is.EqualTo(
            "web\n" +
            "  start on started (job: db, env:)\n" +
            "  start on db-ready (job:, env:)\n" +
            "  start on runlevel (job:, env: [2345])\n" +
            "  stop on stopping (job: db, env:)\n"));
    }

    [Test]
    public async Task Check_config_without_problems_prints_nothing_and_exits_0()
    {
        await using var supd = await StartWithJobsAsync();

        var result = await supd.CtlAsync("check-config");

        Assert.That(result, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty.And.Property("Stderr").Empty);
    }

    [Test]
    public async Task Check_config_reports_unknown_events_and_jobs_and_exits_1()
    {
        await using var supd = await StartWithJobsAsync(("broken", "start on net-up and started ghost\nstop on stopping web\nexec sleep 1000\n"));

        var all = await supd.CtlAsync("check-config");
        var ignored = await supd.CtlAsync("check-config", "-i", "net-up,other", "broken");
        var other = await supd.CtlAsync("check-config", "web");

        Assert.That(all, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").Empty);
        Assert.That(all.Stdout, Is.EqualTo("broken\n  start on: unknown event net-up\n  start on: unknown job ghost\n"));
        Assert.That(ignored, Has.Property("ExitCode").EqualTo(1).And.Property("Stdout").EqualTo("broken\n  start on: unknown job ghost\n"));
        Assert.That(other, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").Empty);
    }

    [Test]
    public async Task Check_config_w_also_reports_an_unreachable_side_of_an_or()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("j", "start on startup or nothing\n");
        await supd.StartAsync();

        var plain = await supd.CtlAsync("check-config");
        var warn = await supd.CtlAsync("check-config", "-w");

        Assert.That(plain.ExitCode, Is.EqualTo(0), plain.ToString());
        Assert.That(warn, Has.Property("ExitCode").EqualTo(1).And.Property("Stdout").EqualTo("j\n  start on: unknown event nothing\n"));
    }

    [Test]
    public async Task Unknown_job_is_refused_by_both_commands()
    {
        await using var supd = await StartWithJobsAsync();

        foreach (var args in new[] { new[] { "show-config", "foo" }, ["show-config", "-e", "foo"], ["check-config", "foo"] })
        {
            var result = await supd.CtlAsync(args);
            Assert.That(result, Has.Property("ExitCode").EqualTo(4).And.Property("Stdout").Empty
                .And.Property("Stderr").EqualTo("supctl: Unknown job: foo\n"), string.Join(' ', args));
        }
    }

    // ---- supd --check ----

    [Test]
    public async Task Check_of_the_corpus_finds_the_two_files_Upstart_rejects()
    {
        var corpus = Core.Language.JobAssert.CorpusDirectory;

        var result = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", corpus]);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Is.Empty);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3), result.Stdout);
        Assert.That(lines[0], Does.StartWith($"{corpus}/ArthurSonzogni_chromiumos-platform2__arc-boot-continue.conf:16: Unknown stanza"));
        Assert.That(lines[1], Does.StartWith($"{corpus}/Jolicloud_plymouth__plymouth-stop.conf:16: Expected token"));
        Assert.That(lines[2], Is.EqualTo("62 jobs OK, 2 with errors"));
    }

    [Test]
    public async Task Check_reports_a_bad_file_and_creates_nothing()
    {
        var root = Path.Combine(Path.GetTempPath(), "supd-check-" + Guid.NewGuid().ToString("N")[..10]);
        var jobs = Path.Combine(root, "init");
        Directory.CreateDirectory(jobs);
        try
        {
            File.WriteAllText(Path.Combine(jobs, "good.conf"), "start on startup\nexec sleep 1000\n");
            File.WriteAllText(Path.Combine(jobs, "bad.conf"), "description \"a bad one\"\nfrobnicate\n");
            string[] args = ["--check", "--job-dir", jobs,
                "--socket", Path.Combine(root, "run", "supd.sock"), "--log-dir", Path.Combine(root, "log"), "--state-dir", Path.Combine(root, "state")];

            var bad = await SupdHarness.RunCtlAsync(Binaries.Supd, args);
            File.Delete(Path.Combine(jobs, "bad.conf"));
            var good = await SupdHarness.RunCtlAsync(Binaries.Supd, args);

            Assert.That(bad, Has.Property("ExitCode").EqualTo(1).And.Property("Stderr").Empty);
            Assert.That(bad.Stdout, Is.EqualTo($"{jobs}/bad.conf:2: Unknown stanza 'frobnicate'\n1 jobs OK, 1 with errors\n"));
            Assert.That(good, Has.Property("ExitCode").EqualTo(0).And.Property("Stdout").EqualTo("1 jobs OK, 0 with errors\n"));
            Assert.That(Directory.GetFileSystemEntries(root), Is.EqualTo(new[] { jobs }), "no socket, log or state directory");
            Assert.That(Directory.GetFileSystemEntries(jobs), Is.EqualTo(new[] { Path.Combine(jobs, "good.conf") }));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task Check_blames_an_event_expression_error_on_the_line_of_its_last_token()
    {
        var jobs = Path.Combine(Path.GetTempPath(), "supd-check-lines-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(jobs);
        try
        {
            File.WriteAllText(Path.Combine(jobs, "dangling.conf"), "start on foo or\nexec true\n");
            File.WriteAllText(Path.Combine(jobs, "multi.conf"), "start on (foo or\n bar) frodo\nexec true\n");
            File.WriteAllText(Path.Combine(jobs, "stopper.conf"), "exec true\nstop on (foo or\n bar) frodo\n");

            var result = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", jobs]);

            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(4), result.Stdout);
            Assert.That(lines[0], Does.StartWith($"{jobs}/dangling.conf:1: Expected event"));
            Assert.That(lines[1], Does.StartWith($"{jobs}/multi.conf:2: Expected operator"));
            Assert.That(lines[2], Does.StartWith($"{jobs}/stopper.conf:3: Expected operator"));
            Assert.That(lines[3], Is.EqualTo("0 jobs OK, 3 with errors"));
        }
        finally
        {
            Directory.Delete(jobs, recursive: true);
        }
    }

    [Test]
    public async Task Check_of_a_missing_job_dir_fails()
    {
        var missing = Path.Combine(Path.GetTempPath(), "supd-check-missing-" + Guid.NewGuid().ToString("N")[..10]);

        var result = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", missing]);

        Assert.That(result, Has.Property("ExitCode").EqualTo(1)
            .And.Property("Stderr").EqualTo($"supd: job directory {missing} does not exist\n")
            .And.Property("Stdout").EqualTo("0 jobs OK, 0 with errors\n"));
        Assert.That(Directory.Exists(missing), Is.False);
    }
}
