using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Access control end to end: a real supd (as root) with rules from a supd.json, the real supctl run as other uids
/// through setpriv. The callers' groups are given to setpriv, so no account has to be created.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed partial class AccessControlTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private const uint Nobody = 65534, NoGroup = 65534, Users = 100;
    private const string Sleeper = "start on startup\nexec sleep 1000\n";

    private static void RequireRootAndSetpriv()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root: to run supctl as other users (setpriv)");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Ignore("setpriv is not installed");
    }

    /// <summary>Writes supd.json in the harness's root (reachable by everyone, not writable by others) and starts supd with it.</summary>
    private static async Task StartWithAsync(SupdHarness supd, string json)
    {
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED); // 0755
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, json);
        await supd.StartAsync("--config", config);
    }

    /// <summary>Runs supctl as uid/gid with exactly these supplementary groups.</summary>
    private static Task<CtlResult> CtlAs(SupdHarness supd, uint uid, uint gid, uint[] groups, params string[] args) =>
        SupdHarness.RunCtlAsync("/usr/bin/setpriv",
        [
            $"--reuid={uid}", $"--regid={gid}", groups.Length == 0 ? "--clear-groups" : "--groups=" + string.Join(',', groups),
            Binaries.Supctl, "--socket", supd.Socket, .. args,
        ]);

    private static Task<CtlResult> AsNobody(SupdHarness supd, params string[] args) => CtlAs(supd, Nobody, NoGroup, [], args);

    private static (string Mode, string Owner, string Group) Stat(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%a %U %G", path]) { RedirectStandardOutput = true })!;
        var fields = stat.StandardOutput.ReadToEnd().Trim().Split(' ');
        stat.WaitForExit();
        return (fields[0], fields[1], fields[2]);
    }

    private static void AssertDenied(CtlResult result, string message)
    {
        Assert.That(result.ExitCode, Is.EqualTo(77), result.ToString()); // EX_NOPERM (issue 18's exit table)
        Assert.That(result.Stderr, Is.EqualTo($"supctl: permission denied: {message}\n"));
    }

    private static void AssertAllowed(CtlResult result) => Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());

    private static Task AuditLineAsync(SupdHarness supd, string pattern) =>
        Eventually.TrueAsync(() => Regex.IsMatch(supd.DaemonOutput, pattern, RegexOptions.Multiline), $"an audit line matching {pattern}");

    [Test]
    public async Task By_default_the_socket_is_0660_root_root_and_a_user_outside_its_group_cannot_connect()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        await StartWithAsync(supd, "{}");

        Assert.That(Stat(supd.Socket), Is.EqualTo(("660", "root", "root")));
        var result = await AsNobody(supd, "list");
        Assert.That(result.ExitCode, Is.EqualTo(77), result.ToString());
        Assert.That(result.Stderr, Is.EqualTo($"supctl: cannot connect to supd at {supd.Socket}: Permission denied\n"));
    }

    [Test]
    public async Task Socket_mode_and_group_come_from_configuration_and_a_group_member_without_rules_is_denied_per_request()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, """{ "SocketMode": "0640", "SocketGroup": "users" }""");

        Assert.That(Stat(supd.Socket), Is.EqualTo(("640", "root", "users")));
        // 0640: the group may not write, so may not connect.
        var readOnlySocket = await CtlAs(supd, Nobody, NoGroup, [Users], "list");
        Assert.That(readOnlySocket.Stderr, Does.Contain("Permission denied"), readOnlySocket.ToString());
        Assert.That(readOnlySocket.Stderr, Does.StartWith("supctl: cannot connect"));
    }

    [Test]
    public async Task Without_a_rule_a_caller_who_can_connect_may_do_nothing_and_each_refusal_is_audited()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, """{ "SocketGroup": "nogroup" }""");
        await supd.WaitForStatusAsync("nagios", "start/running");

        AssertDenied(await AsNobody(supd, "list"), "nobody may not list (needs read)");
        AssertDenied(await AsNobody(supd, "status", "nagios"), "nobody may not status nagios (needs read)");
        AssertDenied(await AsNobody(supd, "stop", "nagios"), "nobody may not stop nagios (needs control)");
        AssertDenied(await AsNobody(supd, "emit", "deploy"), "nobody may not emit deploy (needs control)");
        AssertDenied(await AsNobody(supd, "access"), "nobody may not access (needs read)");
        await AuditLineAsync(supd, @"^supd: access: denied stop nagios to nobody \(uid 65534, pid \d+\): needs control, no rule$");
        await AuditLineAsync(supd, @"^supd: access: denied list to nobody \(uid 65534, pid \d+\): needs read, no rule$");
        await supd.WaitForStatusAsync("nagios", "start/running");
    }

    [Test]
    public async Task Disable_and_enable_need_control_on_the_job_and_show_names_who_disabled_it()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("team/web", Sleeper);
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, """
            { "SocketGroup": "nogroup",
              "Access": { "Rules": [ { "User": "nobody", "Jobs": ["team/*"], "Rights": ["read", "control"] } ] } }
            """);
        await supd.WaitForStatusAsync("nagios", "start/running");

        AssertDenied(await AsNobody(supd, "disable", "nagios"), "nobody may not disable nagios (needs control)");
        AssertDenied(await AsNobody(supd, "enable", "nagios"), "nobody may not enable nagios (needs control)");
        var disable = await AsNobody(supd, "disable", "team/web");
        AssertAllowed(disable);
        Assert.That(disable.Stdout, Does.Match(@"^team/web start/running, process \d+ \(disabled\)\n$"));
        await AuditLineAsync(supd, @"^supd: access: allowed disable team/web to nobody \(uid 65534, pid \d+\): control by rule 1");
        Assert.That((await supd.CtlAsync("show", "team/web")).Stdout, Does.Contain("Disabled: by nobody (uid 65534) since "));
        AssertAllowed(await AsNobody(supd, "enable", "team/web"));
        Assert.That((await supd.CtlAsync("status", "team/web")).Stdout, Does.Not.Contain("disabled"));
    }

    [Test]
    public async Task A_user_rule_grants_read_and_control_and_allowed_control_is_audited_but_admin_is_not_granted()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, """
            { "SocketGroup": "nogroup",
              "Access": { "Rules": [ { "User": "nobody", "Rights": ["read", "control"] } ] } }
            """);
        await supd.WaitForStatusAsync("nagios", "start/running");

        AssertAllowed(await AsNobody(supd, "list"));
        AssertAllowed(await AsNobody(supd, "version"));
        var stop = await AsNobody(supd, "stop", "nagios");
        AssertAllowed(stop);
        Assert.That(stop.Stdout, Is.EqualTo("nagios stop/waiting\n"));
        AssertAllowed(await AsNobody(supd, "start", "nagios"));
        AssertAllowed(await AsNobody(supd, "emit", "deploy"));
        await AuditLineAsync(supd, @"^supd: access: allowed stop nagios to nobody \(uid 65534, pid \d+\): control by rule 1 \(user nobody\)$");
        await AuditLineAsync(supd, @"^supd: access: allowed emit deploy to nobody \(uid 65534, pid \d+\): control by rule 1 \(user nobody\)$");
        Assert.That(supd.DaemonOutput, Does.Not.Contain("allowed list"), "reads are not audited");
        // admin was not granted: the denied path of the third right, end to end.
        AssertDenied(await AsNobody(supd, "reopen-logs"), "nobody may not reopen-logs (needs admin)");
        await AuditLineAsync(supd, @"^supd: access: denied reopen-logs to nobody \(uid 65534, pid \d+\): needs admin, no rule$");
        // Root needs no rule, and its control is audited too.
        AssertAllowed(await supd.CtlAsync("restart", "nagios"));
        await AuditLineAsync(supd, @"^supd: access: allowed restart nagios to root \(uid 0, pid \d+\): control by root$");
    }

    [Test]
    public async Task A_group_rule_applies_through_a_supplementary_group_and_a_per_job_rule_only_to_its_jobs()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("team-a/web", Sleeper);
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, """
            { "SocketMode": "0666",
              "Access": { "Rules": [
                { "Group": "users", "Rights": ["read"] },
                { "User": "nobody", "Jobs": ["team-a/*"], "Rights": ["control"] } ] } }
            """);
        await supd.WaitForStatusAsync("team-a/web", "start/running");
        await supd.WaitForStatusAsync("nagios", "start/running");

        // In group users (supplementary): read everywhere; control on team-a/* only.
        AssertAllowed(await CtlAs(supd, Nobody, NoGroup, [Users], "list"));
        AssertAllowed(await CtlAs(supd, Nobody, NoGroup, [Users], "status", "nagios"));
        AssertAllowed(await CtlAs(supd, Nobody, NoGroup, [Users], "stop", "team-a/web"));
        AssertDenied(await CtlAs(supd, Nobody, NoGroup, [Users], "stop", "nagios"), "nobody may not stop nagios (needs control)");
        AssertDenied(await CtlAs(supd, Nobody, NoGroup, [Users], "emit", "deploy"), "nobody may not emit deploy (needs control)");
        // emit is never job-specific: an event named like a covered job is no job (the interceptor passes no job).
        AssertDenied(await CtlAs(supd, Nobody, NoGroup, [Users], "emit", "team-a/web"), "nobody may not emit team-a/web (needs control)");
        // Not in users: the per-job control rule still applies, read does not.
        AssertAllowed(await AsNobody(supd, "start", "team-a/web"));
        AssertDenied(await AsNobody(supd, "status", "team-a/web"), "nobody may not status team-a/web (needs read)");
        await AuditLineAsync(supd, @"^supd: access: allowed stop team-a/web to nobody \(uid 65534, pid \d+\): control by rule 2 \(user nobody, jobs team-a/\*\)$");
    }

    [Test]
    public async Task Access_prints_the_callers_or_a_named_users_rights_and_the_rules_granting_them()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        await StartWithAsync(supd, """
            { "SocketGroup": "nogroup",
              "Access": { "Rules": [
                { "Group": "nogroup", "Rights": ["read"] },
                { "User": "nobody", "Jobs": ["team-a/*", "nightly"], "Rights": ["control"] },
                { "User": "daemon", "Rights": ["admin"] } ] } }
            """);

        var mine = await AsNobody(supd, "access");
        AssertAllowed(mine);
        Assert.That(mine.Stdout, Is.EqualTo("""
            nobody (uid 65534; groups nogroup)
            daemon-wide: read
            jobs team-a/* nightly: control
            granted by:
              rule 1 (group nogroup): read
              rule 2 (user nobody, jobs team-a/* nightly): control

            """));
        var root = await supd.CtlAsync("access");
        Assert.That(root.Stdout, Does.StartWith("root (uid 0; groups root").And.Contains("daemon-wide: read, control, admin (as root)\n"));
        var daemon = await supd.CtlAsync("access", "daemon");
        Assert.That(daemon.Stdout, Does.Contain("daemon-wide: admin\n").And.Contains("  rule 3 (user daemon): admin\n"), daemon.ToString());
        var stranger = await supd.CtlAsync("access", "12345");
        Assert.That(stranger.Stdout, Does.Contain("daemon-wide: none\ngranted by: no rule\n"), stranger.ToString());
        var unknown = await supd.CtlAsync("access", "no-such-user-x");
        Assert.That(unknown.Stderr, Is.EqualTo("supctl: unknown user: no-such-user-x\n"));
    }

    [Test]
    public async Task Supd_refuses_to_start_with_an_other_writable_socket_directory_or_a_bad_rule()
    {
        await using var supd = new SupdHarness();
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1FF); // 0777
        var refused = supd.StartSupd();
        await refused.WaitForExitAsync();
        Assert.That(refused.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Does.Contain($"{supd.Root} is writable by others").And.Contains("supd: unsafe "));

        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED);
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, """{ "Access": { "Rules": [ { "Group": "no-such-group-x", "Rights": ["read"] } ] } }""");
        var badRule = supd.StartSupd("--config", config);
        await badRule.WaitForExitAsync();
        Assert.That(badRule.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Does.Contain("supd: access rule 1: unknown group: no-such-group-x"));

        File.WriteAllText(config, """{ "SocketMode": "rw-rw----" }""");
        var badMode = supd.StartSupd("--config", config);
        await badMode.WaitForExitAsync();
        Assert.That(badMode.ExitCode, Is.EqualTo(1));
        Assert.That(supd.DaemonOutput, Does.Contain("supd: SocketMode is not an octal permission mode (like 0660): rw-rw----"));
    }

    // docs/access-control.md's examples, with their JSON read from the document itself. Group names the machine does not
    // have are mapped to ones it has: monitoring → nogroup, team-a → users, supd-clients → adm.

    private static string DocExample(int number)
    {
        var doc = File.ReadAllText(Path.Combine(Binaries.RepositoryRoot, "docs", "access-control.md"));
        var section = doc[doc.IndexOf($"## Example {number}:", StringComparison.Ordinal)..];
        var match = JsonBlock().Match(section);
        Assert.That(match.Success, $"example {number} has a json block");
        return match.Groups[1].Value;
    }

    [Test]
    public async Task Doc_example_1_a_read_only_monitoring_user()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, DocExample(1).Replace("\"monitoring\"", "\"nogroup\"", StringComparison.Ordinal));
        await supd.WaitForStatusAsync("nagios", "start/running");

        AssertAllowed(await AsNobody(supd, "list"));
        AssertAllowed(await AsNobody(supd, "status", "nagios"));
        AssertDenied(await AsNobody(supd, "stop", "nagios"), "nobody may not stop nagios (needs control)");
    }

    [Test]
    public async Task Doc_example_2_a_team_that_controls_its_own_jobs()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("team-a/web", Sleeper);
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, DocExample(2).Replace("\"Group\": \"team-a\"", "\"Group\": \"users\"", StringComparison.Ordinal)
            .Replace("\"SocketGroup\": \"team-a\"", "\"SocketGroup\": \"users\"", StringComparison.Ordinal));
        await supd.WaitForStatusAsync("team-a/web", "start/running");

        Task<CtlResult> Member(params string[] args) => CtlAs(supd, Nobody, NoGroup, [Users], args);
        AssertAllowed(await Member("list"));
        AssertAllowed(await Member("restart", "team-a/web"));
        AssertDenied(await Member("stop", "nagios"), "nobody may not stop nagios (needs control)");
        AssertDenied(await Member("emit", "deploy"), "nobody may not emit deploy (needs control)");
        var outsider = await AsNobody(supd, "list");
        Assert.That(outsider.Stderr, Does.Contain("Permission denied"), "not in the socket's group: cannot connect");
    }

    [Test]
    public async Task Doc_example_3_a_docker_container_named_by_its_uid()
    {
        RequireRootAndSetpriv();
        await using var supd = new SupdHarness();
        supd.WriteJob("web/frontend", Sleeper);
        supd.WriteJob("nagios", Sleeper);
        await StartWithAsync(supd, DocExample(3).Replace("\"supd-clients\"", "\"adm\"", StringComparison.Ordinal));
        await supd.WaitForStatusAsync("web/frontend", "start/running");

        // The container's process: uid 10001 with no account here, in the socket's group by number (--group-add).
        Task<CtlResult> Container(params string[] args) => CtlAs(supd, 10001, 10001, [4], args);
        AssertAllowed(await Container("restart", "web/frontend"));
        AssertAllowed(await Container("status", "web/frontend"));
        AssertDenied(await Container("list"), "uid 10001 may not list (needs read)");
        AssertDenied(await Container("stop", "nagios"), "uid 10001 may not stop nagios (needs control)");
    }

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
