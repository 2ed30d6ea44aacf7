using NUnit.Framework;
using Supervisor.Core.Access;

namespace Supervisor.Tests.Core.Access;

[TestFixture]
public sealed class AccessPolicyTests
{
    private const uint SupdUid = 500;

    /// <summary>A fixed user and group table, so the decisions do not depend on this machine.</summary>
    private sealed class Accounts : IAccountDatabase
    {
        private static readonly Dictionary<string, uint> Users = new() { ["alice"] = 1001, ["bob"] = 1002, ["carol"] = 1003 };
        private static readonly Dictionary<string, uint> Groups = new() { ["monitoring"] = 2001, ["team-a"] = 2002 };

        public uint? UserId(string name) => Users.TryGetValue(name, out var id) ? id : null;
        public uint? GroupId(string name) => Groups.TryGetValue(name, out var id) ? id : null;
        public string? UserName(uint uid) => Users.FirstOrDefault(u => u.Value == uid).Key;
        public string? GroupName(uint gid) => Groups.FirstOrDefault(g => g.Value == gid).Key;
    }

    private static AccessRuleOptions Rule(string? user = null, string? group = null, string[]? jobs = null, params string[] rights) =>
        new() { User = user, Group = group, Jobs = [.. jobs ?? []], Rights = [.. rights] };

    private static AccessPolicy Policy(params AccessRuleOptions[] rules) =>
        AccessPolicy.Create(new AccessOptions { Rules = [.. rules] }, SupdUid, new Accounts());

    private static Caller As(uint uid, uint gid = 100, params uint[] groups) => new(uid, gid, groups, 42, $"uid {uid}");

    [TestCase(0u, "root")]
    [TestCase(SupdUid, "supd's own user")]
    public void Root_and_supds_own_user_may_do_everything_without_a_rule(uint uid, string why)
    {
        var policy = Policy();
        foreach (var right in new[] { AccessRight.Read, AccessRight.Control, AccessRight.Admin })
        {
            Assert.That(policy.Decide(As(uid), right, "nagios"), Is.EqualTo(new AccessDecision(true, right, why)));
            Assert.That(policy.Decide(As(uid), right, null), Is.EqualTo(new AccessDecision(true, right, why)));
        }
    }

    [Test]
    public void Without_rules_everyone_else_is_denied_everything()
    {
        var policy = Policy();
        Assert.That(policy.Decide(As(1001), AccessRight.Read, null), Is.EqualTo(new AccessDecision(false, AccessRight.Read, "no rule")));
        Assert.That(policy.Decide(As(1001), AccessRight.Control, "nagios"), Is.EqualTo(new AccessDecision(false, AccessRight.Control, "no rule")));
    }

    [Test]
    public void A_group_rule_grants_its_rights_to_members_by_primary_or_supplementary_group()
    {
        var policy = Policy(Rule(group: "monitoring", rights: "read"));
        Assert.That(policy.Decide(As(1001, 2001), AccessRight.Read, null).Allowed, Is.True, "primary group");
        Assert.That(policy.Decide(As(1002, 100, 7, 2001), AccessRight.Read, "nagios").Allowed, Is.True, "supplementary group");
        Assert.That(policy.Decide(As(1002, 100, 2001), AccessRight.Control, "nagios"), Is.EqualTo(new AccessDecision(false, AccessRight.Control, "no rule")));
        Assert.That(policy.Decide(As(1003, 100), AccessRight.Read, null).Allowed, Is.False, "not a member");
        Assert.That(policy.Decide(As(1001, 2001), AccessRight.Read, null).DecidedBy, Is.EqualTo("rule 1 (group monitoring)"));
    }

    [Test]
    public void Rights_are_independent_control_does_not_imply_read_nor_read_control()
    {
        var policy = Policy(Rule(user: "alice", rights: "control"));
        Assert.That(policy.Decide(As(1001), AccessRight.Control, "x").Allowed, Is.True);
        Assert.That(policy.Decide(As(1001), AccessRight.Read, "x").Allowed, Is.False);
        Assert.That(policy.Decide(As(1001), AccessRight.Admin, null).Allowed, Is.False);
    }

    [Test]
    public void A_per_job_rule_covers_matching_jobs_only_and_never_jobless_verbs()
    {
        var policy = Policy(Rule(user: "alice", jobs: ["team-a/*", "nightly"], rights: ["read", "control"]));
        var alice = As(1001);
        Assert.That(policy.Decide(alice, AccessRight.Control, "team-a/web"), Is.EqualTo(new AccessDecision(true, AccessRight.Control, "rule 1 (user alice, jobs team-a/* nightly)")));
        Assert.That(policy.Decide(alice, AccessRight.Control, "team-a/db/replica").Allowed, Is.True, "* crosses /");
        Assert.That(policy.Decide(alice, AccessRight.Control, "nightly").Allowed, Is.True);
        Assert.That(policy.Decide(alice, AccessRight.Control, "nightly-2").Allowed, Is.False, "no * means the exact name");
        Assert.That(policy.Decide(alice, AccessRight.Control, "team-b/web").Allowed, Is.False);
        Assert.That(policy.Decide(alice, AccessRight.Control, "team-a").Allowed, Is.False, "team-a/* does not match team-a itself");
        Assert.That(policy.Decide(alice, AccessRight.Read, "team-a/web").Allowed, Is.True);
        Assert.That(policy.Decide(alice, AccessRight.Read, null).Allowed, Is.False, "a verb without a job needs the right daemon-wide");
        Assert.That(policy.Decide(alice, AccessRight.Control, null).Allowed, Is.False, "emit (no job) needs control daemon-wide");
    }

    [Test]
    public void The_first_rule_that_grants_the_right_is_the_one_named()
    {
        var policy = Policy(
            Rule(group: "team-a", rights: "read"),
            Rule(group: "team-a", jobs: ["team-a/*"], rights: "control"),
            Rule(user: "alice", rights: ["read", "control"]));
        var alice = As(1001, 2002);
        Assert.That(policy.Decide(alice, AccessRight.Read, "team-a/web").DecidedBy, Is.EqualTo("rule 1 (group team-a)"));
        Assert.That(policy.Decide(alice, AccessRight.Control, "team-a/web").DecidedBy, Is.EqualTo("rule 2 (group team-a, jobs team-a/*)"));
        Assert.That(policy.Decide(alice, AccessRight.Control, "other").DecidedBy, Is.EqualTo("rule 3 (user alice)"));
        Assert.That(policy.Decide(As(1002, 2002), AccessRight.Control, "other").Allowed, Is.False);
    }

    [Test]
    public void Numeric_ids_name_users_and_groups_the_system_does_not_know()
    {
        var policy = Policy(Rule(user: "10001", rights: "control"), Rule(group: "3000", rights: "read"));
        Assert.That(policy.Decide(As(10001), AccessRight.Control, "web").Allowed, Is.True);
        Assert.That(policy.Decide(As(1, 3000), AccessRight.Read, null).Allowed, Is.True);
    }

    [Test]
    public void Describe_lists_daemon_wide_rights_and_the_rules_that_apply()
    {
        var policy = Policy(
            Rule(group: "team-a", rights: "read"),
            Rule(group: "team-a", jobs: ["team-a/*"], rights: "control"),
            Rule(user: "bob", rights: "admin"));
        var access = policy.Describe(As(1001, 2002));
        Assert.That(access.Everything, Is.Null);
        Assert.That(access.DaemonWide, Is.EqualTo(new[] { AccessRight.Read }));
        Assert.That(access.Rules.Select(r => r.Number), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(policy.Describe(As(0)).Everything, Is.EqualTo("root"));
        Assert.That(policy.Describe(As(0)).DaemonWide, Has.Count.EqualTo(3));
    }

    [TestCase(null, null, new[] { "read" }, null, "access rule 1: give exactly one of \"User\" or \"Group\"")]
    [TestCase("alice", "team-a", new[] { "read" }, null, "access rule 1: give exactly one of \"User\" or \"Group\"")]
    [TestCase("alice", null, new string[0], null, "access rule 1: no \"Rights\" (read, control, admin)")]
    [TestCase("alice", null, new[] { "write" }, null, "access rule 1: unknown right \"write\" (read, control, admin)")]
    [TestCase("nosuchuser", null, new[] { "read" }, null, "access rule 1: unknown user: nosuchuser")]
    [TestCase(null, "nosuchgroup", new[] { "read" }, null, "access rule 1: unknown group: nosuchgroup")]
    [TestCase("alice", null, new[] { "read" }, "team-*/web", "access rule 1: job pattern \"team-*/web\": a job name, optionally ending in *")]
    [TestCase("alice", null, new[] { "admin" }, "team-a/*", "access rule 1: admin is daemon-wide; it cannot be limited to jobs")]
    public void A_rule_that_cannot_mean_anything_is_refused_with_its_number(string? user, string? group, string[] rights, string? job, string message)
    {
        var rule = Rule(user, group, job is null ? null : [job], rights);
        Assert.That(() => Policy(rule), Throws.TypeOf<AccessConfigurationException>().With.Message.EqualTo(message));
    }

    [Test]
    public void System_accounts_resolve_root_and_nobody_both_ways()
    {
        Assert.That(SystemAccounts.Instance.UserId("root"), Is.EqualTo(0u));
        Assert.That(SystemAccounts.Instance.UserName(0), Is.EqualTo("root"));
        Assert.That(SystemAccounts.Instance.GroupName(0), Is.EqualTo("root"));
        Assert.That(SystemAccounts.Instance.GroupId("root"), Is.EqualTo(0u));
        Assert.That(SystemAccounts.Instance.UserId("no-such-user-here"), Is.Null);
    }
}
