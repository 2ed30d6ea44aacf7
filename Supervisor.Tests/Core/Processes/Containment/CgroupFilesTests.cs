using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Tests.Core.Processes.Containment;

/// <summary>The cgroup file logic on a fake group: names, cgroup.procs, cgroup.events; a group per start on a fake tree.</summary>
[TestFixture]
public sealed class CgroupFilesTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("cgroup-files-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [TestCase("web", 1, "web.1")]
    [TestCase("net/eth0 (x)", 7, "net%2Feth0%20%28x%29.7")]
    [TestCase("..", 2, "%2E%2E.2")]
    [TestCase("cgroup.procs", 3, "cgroup%2Eprocs.3")]
    [TestCase("é", 4, "%C3%A9.4")]
    public void A_group_name_is_the_escaped_instance_name_and_a_number(string name, long sequence, string expected) =>
        Assert.That(CgroupFiles.Name(name, sequence), Is.EqualTo(expected));

    [Test]
    public void A_long_name_is_cut_to_its_bound()
    {
        var name = CgroupFiles.Name(new string('/', 10_000), 12);
        Assert.That(name.Length, Is.LessThanOrEqualTo(Limits.MaxCgroupNameChars + 3 + ".12".Length));
        Assert.That(name, Does.EndWith("%2F.12"));
    }

    [Test]
    public void Procs_and_populated_are_read_from_the_core_files()
    {
        File.WriteAllText(Path.Join(_root, "cgroup.procs"), "12\n345\nnot-a-pid\n0\n");
        File.WriteAllText(Path.Join(_root, "cgroup.events"), "populated 1\nfrozen 0\n");
        Assert.That(CgroupFiles.Procs(_root), Is.EqualTo(new[] { 12, 345 }));
        Assert.That(CgroupFiles.Populated(_root), Is.True);

        File.WriteAllText(Path.Join(_root, "cgroup.events"), "populated 0\nfrozen 0\n");
        Assert.That(CgroupFiles.Populated(_root), Is.False);
        Assert.That(CgroupFiles.Procs(Path.Join(_root, "gone")), Is.Empty);
        Assert.That(CgroupFiles.Populated(Path.Join(_root, "gone")), Is.False);
    }

    [Test]
    public void Oom_kills_are_read_from_memory_events_and_are_none_without_the_file()
    {
        Assert.That(CgroupFiles.OomKills(_root), Is.Zero, "no memory controller: no memory.events");
        File.WriteAllText(Path.Join(_root, "memory.events"), "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n");
        Assert.That(CgroupFiles.OomKills(_root), Is.EqualTo(2));
        File.WriteAllText(Path.Join(_root, "memory.events"), "oom_kill -1\n");
        Assert.That(CgroupFiles.OomKills(_root), Is.Zero, "not a count");
    }

    [Test]
    public void A_units_oom_kills_come_from_its_own_group()
    {
        var containment = new CgroupContainment(new ContainmentMode(_root, Path.Join(_root, "supd"), null, "root"), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.That(containment.Open(out var error), error);
        var group = containment.Prepare(new ContainmentUnit("tag-1", "web"))!;
        containment.Prepare(new ContainmentUnit("tag-2", "web"));
        File.WriteAllText(Path.Join(group, "memory.events"), "oom 1\noom_kill 1\n");

        Assert.That((containment.OomKills("tag-1"), containment.OomKills("tag-2"), containment.OomKills("unknown")), Is.EqualTo((1L, 0L, 0L)));
    }

    [Test]
    public void Each_start_gets_its_own_group_and_its_hooks_share_it()
    {
        var jobs = Path.Join(_root, "supd");
        var containment = new CgroupContainment(new ContainmentMode(_root, jobs, null, "root"), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.That(containment.Open(out var error), error);

        var first = containment.Prepare(new ContainmentUnit("tag-1", "web"));
        var hook = containment.Prepare(new ContainmentUnit("tag-1", "web"));
        var respawned = containment.Prepare(new ContainmentUnit("tag-2", "web"));

        Assert.That(first, Is.EqualTo(Path.Join(jobs, "web.1")));
        Assert.That(hook, Is.EqualTo(first), "pre-start, main and post-stop of one start share its group");
        Assert.That(respawned, Is.EqualTo(Path.Join(jobs, "web.2")), "a respawn starts in a fresh group");
        Assert.That(Directory.Exists(first) && Directory.Exists(respawned));
    }
}
