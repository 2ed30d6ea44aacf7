using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// What a new user reads (issue 22): errors that say what is wrong, JSON a script can use, completion without setup,
/// a log that is quiet at Information, and what `start` says of a service that dies at once (`start grace`).
/// Tests about one job of their own share one supd (a JIT supd's start and warm-up cost more CPU than such a test);
/// those about supd's own log, its start-up jobs, its socket or every job it has start their own.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class MessagesAndOutputTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // A real account (created once, kept: the name is fixed, so reruns reuse it).
    private const string TestUser = "supd-msg-test";

    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    [Test]
    public async Task A_socket_in_a_directory_the_caller_may_not_search_says_permission_denied()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root: to run supctl as another user");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Ignore("setpriv is not installed");
        var (uid, gid) = await EnsureTestUserAsync();
        await using var h = new SupdHarness();
        await h.StartAsync();
        File.SetUnixFileMode(h.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); // 0700

        var result = await SupdHarness.RunCtlAsync("/usr/bin/setpriv",
            [$"--reuid={uid}", $"--regid={gid}", "--clear-groups", Binaries.Supctl, "--socket", h.Socket, "list"]);

        Assert.That(result.ExitCode, Is.EqualTo(77), result.ToString()); // EX_NOPERM (issue 18's exit table)
        Assert.That(result.Stderr, Is.EqualTo($"supctl: cannot connect to supd at {h.Socket}: Permission denied\n"));
    }

    [Test]
    public async Task A_mistyped_verb_says_unknown_verb_and_the_nearest_one_and_nothing_else()
    {
        await using var h = new SupdHarness(); // not started: a usage error never reaches supd

        var typo = await h.CtlAsync("strat", "nagios");
        Assert.That((typo.ExitCode, typo.Stdout, typo.Stderr), Is.EqualTo((2, "", "supctl: unknown verb 'strat' (did you mean 'start'?)\n")));
        var stats = await h.CtlAsync("stats", "web");
        Assert.That(stats.Stderr, Is.EqualTo("supctl: unknown verb 'stats' (did you mean 'status'?)\n"));
        var nothingClose = await h.CtlAsync("xyzzy");
        Assert.That((nothingClose.ExitCode, nothingClose.Stderr), Is.EqualTo((2, "supctl: unknown verb 'xyzzy'\n")));
        var help = await h.CtlAsync("help", "strat");
        Assert.That((help.ExitCode, help.Stderr), Is.EqualTo((2, "supctl: unknown verb 'strat' (did you mean 'start'?)\n")));
    }

    [Test]
    public async Task A_program_that_does_not_exist_is_named_in_the_reply_the_status_and_show()
    {
        var h = _shared;
        h.WriteJob("nosuch", "exec /usr/bin/does-not-exist\n");
        await h.ReloadJobsAsync();
        const string why = "cannot run /usr/bin/does-not-exist: No such file or directory";

        var start = await h.CtlAsync("start", "nosuch");
        Assert.That((start.ExitCode, start.Stderr), Is.EqualTo((1, $"supctl: Job failed to start\n  nosuch: {why}\n")));
        var status = await h.CtlAsync("status", "nosuch");
        Assert.That(status.Stdout, Is.EqualTo($"nosuch stop/waiting (failed: {why})\n"));
        var show = await h.CtlAsync("show", "nosuch");
        Assert.That(show.Stdout, Does.Contain($"Failure: {why}\n"));
    }

    [Test]
    public async Task Usage_of_a_job_without_a_usage_stanza_says_so()
    {
        var h = _shared;
        h.WriteJob("web", "exec sleep 1000\n");
        await h.ReloadJobsAsync();

        var usage = await h.CtlAsync("usage", "web");
        Assert.That((usage.ExitCode, usage.Stdout), Is.EqualTo((0, "web has no usage stanza: its job file does not say which variables its start takes\n")));
    }

    [Test]
    public async Task After_runlevel_0_stopped_the_jobs_the_shutdown_line_says_none_is_left()
    {
        await using var h = new SupdHarness { DaemonLogLevel = null };
        h.WriteJob("db", "start on startup\nstop on runlevel [016]\nexec sleep 1000\n");
        await h.StartAsync();
        await h.WaitForStatusAsync("db", "start/running");

        Assert.That(await h.TerminateAsync(), Is.Zero, h.DaemonOutput);
        Assert.That(h.DaemonOutput, Does.Contain("supd: Shutting down: no job is up\n"));
        Assert.That(h.DaemonOutput, Does.Not.Contain("stopping 0"));
    }

    [Test]
    public async Task Json_is_one_compact_line_for_every_verb_with_characters_written_as_they_are()
    {
        var h = _shared;
        h.WriteJob("json-web", "description \"a+b <c> & 'd' =e\"\nusage \"json-web PORT=<n>\"\nexec sleep 1000\n");
        await h.ReloadJobsAsync();
        await h.StartJobAsync("json-web");
        await h.WaitForStatusAsync("json-web", "start/running");
        await h.CtlAsync("emit", "deploy", "VERSION=1.0+build");

        string[][] verbs =
        [
            ["status", "json-web"], ["list"], ["show", "json-web"], ["usage", "json-web"], ["version"], ["access"], ["events"],
            ["emit", "nothing-listens"], ["show-config"], ["check-config"], ["log", "json-web"], ["reload-configuration"],
            ["stop", "json-web"], ["start", "json-web"], ["restart", "json-web"],
        ];
        foreach (var verb in verbs)
        {
            var result = await h.CtlAsync(["--json", .. verb]);
            Assert.That(result.ExitCode, Is.Zero, $"{verb[0]}: {result}");
            foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Assert.That(line, Is.EqualTo(Compact(line)), $"{verb[0]} --json is compact and escapes only what JSON needs");
        }

        var status = (await h.CtlAsync("--json", "status", "json-web")).Stdout;
        Assert.That(status, Does.Contain("\"description\":\"a+b <c> & 'd' =e\""));
        var events = (await h.CtlAsync("--json", "events")).Stdout;
        Assert.That(events, Does.Contain("\"VERSION\":\"1.0+build\""));
        Assert.That(events, Does.Not.Contain("\\u"), "no character escaped as \\uXXXX");
        Assert.That(Regex.IsMatch(events, @"""time"":""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"""), Is.True, events);
    }

    [Test]
    public async Task The_readme_tour_gets_the_pid_from_a_status_line_with_a_suffix()
    {
        var readme = File.ReadAllLines(Path.Combine(Binaries.RepositoryRoot, "README.md"));
        var kill = readme.Single(l => l.StartsWith("kill -9 $(supctl status ticker", StringComparison.Ordinal)).TrimEnd();
        var recipe = kill["kill -9 $(".Length..kill.LastIndexOf(')')];

        var h = _shared;
        var file = h.WriteJob("ticker", "exec sleep 1000\n");
        await h.ReloadJobsAsync();
        var pid = SupdHarness.PidOf((await h.CtlAsync("start", "ticker")).Stdout);
        File.AppendAllText(file, "# changed\n");
        await h.CtlAsync("reload-configuration");
        var status = await h.CtlAsync("status", "ticker");
        Assert.That(status.Stdout, Does.EndWith("(changed on disk, restart to apply)\n"), "a status line with a suffix");

        var script = $"supctl() {{ '{Binaries.Supctl}' --socket '{h.Socket}' \"$@\"; }}\n{recipe}\n";
        var result = await SupdHarness.RunCtlAsync("bash", ["-c", script]);
        Assert.That(result.Stdout.Trim(), Is.EqualTo(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"{recipe}: {result}");
    }

    [Test]
    public async Task Completion_bash_prints_the_shipped_script_bound_to_its_own_binary_and_works_through_an_alias()
    {
        var h = _shared;
        // A name no other test of the fixture's supd starts with.
        h.WriteJob("completion-web", "exec sleep 1000\n");
        await h.ReloadJobsAsync();

        var printed = await SupdHarness.RunCtlAsync(Binaries.Supctl, ["completion", "bash", "sc"]);
        Assert.That(printed.ExitCode, Is.Zero, printed.ToString());
        var shipped = File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "completion", "supctl.bash"));
        Assert.That(printed.Stdout, Is.EqualTo(shipped
            .Replace("_supctl_bin=\"\"", $"_supctl_bin='{Binaries.Supctl}'", StringComparison.Ordinal)
            .Replace("complete -F _supctl supctl", "complete -F _supctl supctl 'sc'", StringComparison.Ordinal)), "one source");

        // `sc` (an alias of supctl) is not a command bash can run, and supctl is not in PATH: the bound binary answers.
        var script = Path.Combine(h.Root, "completion.bash");
        File.WriteAllText(script, printed.Stdout);
        async Task<string[]> CompleteAsync(params string[] words)
        {
            string[] line = ["sc", "--socket", h.Socket, .. words];
            var bash = $"PATH=/usr/bin:/bin\nsource '{script}'\ncomplete -p sc >/dev/null || exit 9\n" +
                       $"COMP_WORDS=({string.Join(' ', line.Select(w => $"'{w}'"))})\nCOMP_CWORD={line.Length - 1}\n" +
                       "_supctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
            var result = await SupdHarness.RunCtlAsync("/bin/bash", ["-c", bash]);
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        Assert.That(await CompleteAsync("st"), Is.EquivalentTo(new[] { "status", "start", "stop" }));
        Assert.That(await CompleteAsync("show", "completion-w"), Is.EquivalentTo(new[] { "completion-web" }));
        Assert.That(await CompleteAsync("comp"), Is.EquivalentTo(new[] { "completion" }));
    }

    [Test]
    public async Task At_information_a_job_start_exit_and_stop_are_one_line_each_and_the_trace_is_left_out()
    {
        await using var h = new SupdHarness { DaemonLogLevel = null };
        h.WriteJob("web", "exec sleep 1000\n");
        await h.StartAsync();

        var pid = SupdHarness.PidOf((await h.CtlAsync("start", "web")).Stdout);
        await h.CtlAsync("stop", "web");
        await Eventually.TrueAsync(() => h.DaemonOutput.Contains("supd: web stopped\n", StringComparison.Ordinal), "the stop line");

        var lines = h.DaemonOutput.Split('\n').Where(l => l.Contains("web", StringComparison.Ordinal)).ToArray();
        Assert.That(lines, Is.EqualTo(new[]
        {
            $"supd: web started (main process {pid})",
            $"supd: web main process ({pid}) killed by signal TERM",
            "supd: web stopped",
        }), h.DaemonOutput);
        Assert.That(h.DaemonOutput, Does.Not.Contain("Event ").And.Not.Contain("state changed").And.Not.Contain("access: allowed"));
    }

    [Test]
    public async Task Log_level_debug_from_the_flag_brings_the_trace_and_the_allowed_requests_back()
    {
        await using var h = new SupdHarness { DaemonLogLevel = null };
        h.WriteJob("web", "exec sleep 1000\n");
        await h.StartAsync("--log-level", "Debug");

        await h.CtlAsync("start", "web");
        await Eventually.TrueAsync(() => h.DaemonOutput.Contains("supd: Event started JOB=web INSTANCE=\n", StringComparison.Ordinal), "the event line");
        Assert.That(h.DaemonOutput, Does.Contain("supd: web state changed from waiting to starting\n"));
        Assert.That(h.DaemonOutput, Does.Match(@"supd: access: allowed start web to root \(uid 0, pid \d+\)"));
    }

    [Test]
    public async Task Log_level_from_supd_json_and_a_bad_level_refused()
    {
        await using var h = new SupdHarness { DaemonLogLevel = null };
        h.WriteJob("web", "exec sleep 1000\n");
        h.WriteJob("nosuch", "exec /usr/bin/does-not-exist\n");
        var config = Path.Combine(h.Root, "supd.json");
        File.WriteAllText(config, "{ \"LogLevel\": \"Warning\" }");
        await h.StartAsync("--config", config);

        await h.CtlAsync("start", "web");
        await h.CtlAsync("start", "nosuch"); // a warning: when it is in, so would the start line before it be
        await Eventually.TrueAsync(() => h.DaemonOutput.Contains("Failed to spawn nosuch", StringComparison.Ordinal), "the warning");
        Assert.That(h.DaemonOutput, Does.Not.Contain("web started").And.Not.Contain("Listening on"));

        await using var bad = new SupdHarness { DaemonLogLevel = null };
        using var refused = bad.StartSupd("--log-level", "loud");
        await refused.WaitForExitAsync();
        Assert.That(refused.ExitCode, Is.EqualTo(1));
        await Eventually.TrueAsync(() => bad.DaemonOutput.Contains("supd: LogLevel is not one of Debug, Information, Warning, Error: loud", StringComparison.Ordinal), "the refusal");
    }

    [Test]
    public async Task Without_start_grace_a_service_that_exits_at_once_is_reported_running_as_initctl_did()
    {
        var h = _shared;
        h.WriteJob("quick", "exec sh -c 'exit 3'\n");
        await h.ReloadJobsAsync();

        var start = await h.CtlAsync("start", "quick");
        Assert.That(start.ExitCode, Is.Zero, start.ToString());
        Assert.That(start.Stdout, Does.StartWith("quick start/running"));
        await h.WaitForStatusAsync("quick", @"^quick stop/waiting \(failed: main process exited with status 3\)");
    }

    [Test]
    public async Task With_start_grace_a_main_process_that_dies_within_it_fails_the_start_even_with_respawn()
    {
        var h = _shared;
        h.WriteJob("flaky", "respawn\nstart grace 3\nexec sh -c 'echo going down; sleep 0.3; exit 3'\n");
        await h.ReloadJobsAsync();

        var start = await h.CtlAsync("start", "flaky");
        Assert.That(start.ExitCode, Is.EqualTo(1), start.ToString());
        Assert.That(start.Stderr, Does.Match(
            @"^supctl: Job failed to start\n  flaky: main process exited with status 3 after \d+\.\ds, within its start grace of 3s\n    going down\n$"));
        var status = await h.CtlAsync("status", "flaky");
        Assert.That(status.Stdout, Does.Match(@"^flaky stop/waiting \(failed: main process exited with status 3 after \d+\.\ds, within its start grace of 3s\)\n$"));
        Assert.That(h.DaemonOutput, Does.Not.Contain("flaky main process ended, respawning"), "no respawn");
    }

    [Test]
    public async Task With_start_grace_start_answers_once_the_main_process_has_stayed_up_that_long()
    {
        var h = _shared;
        h.WriteJob("steady", "start grace 1.5\nexec sleep 1000\n");
        await h.ReloadJobsAsync();

        var start = await h.CtlAsync("start", "steady");
        var answered = DateTimeOffset.UtcNow;
        Assert.That(start.ExitCode, Is.Zero, start.ToString());
        Assert.That(start.Stdout, Does.Match(@"^steady start/running, process \d+\n$"));
        using var show = JsonDocument.Parse((await h.CtlAsync("--json", "show", "steady")).Stdout);
        var started = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(
            show.RootElement.GetProperty("status").GetProperty("mainStartedUnixMs").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        // Less what two clocks allow: the grace is a timer on a monotonic millisecond tick (it may end up to a
        // millisecond before the wall clock says 1.5 s, as it did once at 1.49987 s), the start is recorded by the
        // wall clock in whole milliseconds.
        Assert.That(answered - started, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1.5) - TimeSpan.FromMilliseconds(2)),
            "start waited out the grace period");
    }

    [Test]
    public async Task Supd_check_refuses_a_start_grace_out_of_bounds()
    {
        await using var h = new SupdHarness();
        var zero = h.WriteJob("zero", "start grace 0\nexec sleep 1\n");
        var tooLong = h.WriteJob("long", "start grace 3601\nexec sleep 1\n");
        h.WriteJob("ok", "start grace 2.5\nexec sleep 1\n");

        var check = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", h.JobDir]);
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Stdout, Does.Contain($"{zero}:2: Illegal interval, expected number of seconds above 0, at most 3600 (got '0')"));
        Assert.That(check.Stdout, Does.Contain($"{tooLong}:2: Illegal interval, expected number of seconds above 0, at most 3600 (got '3601')"));
        Assert.That(check.Stdout, Does.Contain("1 jobs OK, 2 with errors"));
    }

    // The document as our own writer prints it: compact, escaping only what JSON needs.
    private static string Compact(string json)
    {
        using var document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.RootElement.WriteTo(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static async Task<(string Uid, string Gid)> EnsureTestUserAsync()
    {
        if ((await SupdHarness.RunCtlAsync("id", ["-u", TestUser])).ExitCode != 0)
        {
            var add = await SupdHarness.RunCtlAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TestUser]);
            // Another fixture's test may have added it meanwhile.
            if (add.ExitCode != 0 && (await SupdHarness.RunCtlAsync("id", ["-u", TestUser])).ExitCode != 0)
                Assert.Fail($"useradd {TestUser}: {add}");
        }
        var uid = (await SupdHarness.RunCtlAsync("id", ["-u", TestUser])).Stdout.Trim();
        var gid = (await SupdHarness.RunCtlAsync("id", ["-g", TestUser])).Stdout.Trim();
        return (uid, gid);
    }
}
