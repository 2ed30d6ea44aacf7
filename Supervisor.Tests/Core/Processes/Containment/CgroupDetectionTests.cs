using NUnit.Framework;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Tests.Core.Processes.Containment;

/// <summary>
/// The containment decision on fake trees: a temp dir laid out like /sys/fs/cgroup, with the mountinfo and
/// /proc/self/cgroup lines of pure v2, hybrid, systemd-delegated and container set-ups.
/// </summary>
[TestFixture]
public sealed class CgroupDetectionTests
{
    private const string PureV2 = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

    private const string Hybrid = """
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

        """;

    private const string V1Only = """
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory

        """;

    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("cgroup-fake-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    // A cgroup directory as cgroupfs shows one: its core files.
    private string Group(string path)
    {
        var dir = Path.Join(_root, path);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "cgroup.procs"), "");
        File.WriteAllText(Path.Join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
        return dir;
    }

    private CgroupProbe Probe(string mountInfo, string self, uint uid, Func<string, bool> writable, Func<string, bool>? delegated = null) =>
        new(_root, mountInfo, self, uid) { IsWritable = writable, IsDelegated = delegated ?? (_ => false) };

    [Test]
    public void Root_on_pure_v2_puts_the_jobs_under_the_hierarchy_and_stays_where_it_is()
    {
        var hierarchy = Group("/sys/fs/cgroup");
        var mode = CgroupDetection.Detect(Probe(PureV2, "0::/system.slice/ssh.service\n", 0, _ => true), "supd");

        Assert.That(mode, Is.EqualTo(new ContainmentMode(hierarchy, Path.Join(hierarchy, "supd"), null, "root")));
        Assert.That(mode.Describe(), Is.EqualTo($"cgroup v2 at {hierarchy}/supd (root)"));
    }

    [Test]
    public void Root_on_a_hybrid_host_uses_the_v2_half()
    {
        var unified = Group("/sys/fs/cgroup/unified");
        var mode = CgroupDetection.Detect(Probe(Hybrid, "4:memory:/x\n0::/\n", 0, _ => true), "supd-0123456789ab");

        Assert.That(mode.UsesCgroups);
        Assert.That(mode.JobsRoot, Is.EqualTo(Path.Join(unified, "supd-0123456789ab")));
    }

    [Test]
    public void A_delegated_group_moves_supd_into_a_leaf_and_puts_the_jobs_beside_it()
    {
        Group("/sys/fs/cgroup");
        var own = Group("/sys/fs/cgroup/system.slice/supd.service");
        // A user's supd: only its own delegated group is writable.
        var mode = CgroupDetection.Detect(
            Probe(PureV2, "0::/system.slice/supd.service\n", 1000, path => path.StartsWith(own, StringComparison.Ordinal), path => path == own), "supd");

        Assert.That(mode, Is.EqualTo(new ContainmentMode(Path.Join(_root, "/sys/fs/cgroup"), Path.Join(own, "jobs"), Path.Join(own, "supd"),
            "delegated /system.slice/supd.service")));
    }

    [Test]
    public void After_a_reexec_supd_in_its_own_leaf_keeps_the_delegated_group_above_it()
    {
        Group("/sys/fs/cgroup");
        var own = Group("/sys/fs/cgroup/system.slice/supd.service");
        Group("/sys/fs/cgroup/system.slice/supd.service/supd");
        // Root, so the hierarchy is writable too: the leaf (no delegation mark of its own) must not make supd take
        // the root mode and put new jobs outside its unit.
        var mode = CgroupDetection.Detect(Probe(PureV2, "0::/system.slice/supd.service/supd\n", 0, _ => true, path => path == own), "supd");

        Assert.That(mode, Is.EqualTo(new ContainmentMode(Path.Join(_root, "/sys/fs/cgroup"), Path.Join(own, "jobs"), Path.Join(own, "supd"),
            "delegated /system.slice/supd.service")));
    }

    [Test]
    public void A_delegated_group_wins_over_a_writable_root_as_systemd_runs_supd_as_root()
    {
        Group("/sys/fs/cgroup");
        var own = Group("/sys/fs/cgroup/system.slice/supd.service");
        var mode = CgroupDetection.Detect(Probe(PureV2, "0::/system.slice/supd.service\n", 0, _ => true, path => path == own), "supd");

        Assert.That(mode.SupdLeaf, Is.EqualTo(Path.Join(own, "supd")));
    }

    [Test]
    public void In_a_container_with_its_own_cgroup_namespace_the_namespace_root_is_used()
    {
        // Docker with cgroupns=private: / of the namespace mounted at /sys/fs/cgroup, supd at its root.
        var hierarchy = Group("/sys/fs/cgroup");
        var mode = CgroupDetection.Detect(Probe(PureV2, "0::/\n", 0, _ => true), "supd");

        Assert.That(mode.JobsRoot, Is.EqualTo(Path.Join(hierarchy, "supd")));
    }

    [Test]
    public void A_user_without_delegation_falls_back_to_process_groups_and_says_why()
    {
        Group("/sys/fs/cgroup");
        Group("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
        var mode = CgroupDetection.Detect(Probe(PureV2, "0::/user.slice/user-1000.slice/session-2.scope\n", 1000, _ => false), "supd");

        Assert.That(mode.UsesCgroups, Is.False);
        Assert.That(mode.Describe(), Is.EqualTo(
            "process groups (cgroup v2 at /sys/fs/cgroup is not writable by uid 1000 and supd's group /user.slice/user-1000.slice/session-2.scope is not delegated to it)"));
    }

    [Test]
    public void Without_a_v2_hierarchy_it_is_process_groups()
    {
        Group("/sys/fs/cgroup/memory");
        var mode = CgroupDetection.Detect(Probe(V1Only, "4:memory:/\n", 0, _ => true), "supd");

        Assert.That(mode.Describe(), Is.EqualTo("process groups (no cgroup v2 hierarchy is mounted)"));
    }

    [Test]
    public void A_bind_mounted_subtree_is_not_taken_for_the_hierarchy()
    {
        // Root field "/docker/abc": a part of the tree, where supd's own path would not resolve.
        const string bind = "40 30 0:37 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        Assert.That(CgroupDetection.FindCgroup2Mount(bind), Is.Null);
        Assert.That(CgroupDetection.FindCgroup2Mount(@"40 30 0:37 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw"), Is.EqualTo("/sys/fs/my cgroup"));
    }

    [Test]
    public void Own_group_is_the_unified_line_of_proc_self_cgroup()
    {
        Assert.That(CgroupDetection.OwnGroup("12:pids:/a\n0::/system.slice/supd.service\n"), Is.EqualTo("/system.slice/supd.service"));
        Assert.That(CgroupDetection.OwnGroup("12:pids:/a\n"), Is.Null);
    }
}
