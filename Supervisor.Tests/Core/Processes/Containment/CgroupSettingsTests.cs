using NUnit.Framework;
using Supervisor.Core.Processes.Containment;
using Supervisor.Tests.Core.Language;

namespace Supervisor.Tests.Core.Processes.Containment;

/// <summary>
/// memory max, tasks max, cpu weight and cgroup: parsed, printed, turned into cgroup files, and applied to a start's
/// group on a fake tree (the controller enabled down supd's tree), or refused naming the stanza.
/// </summary>
[TestFixture]
public sealed class CgroupSettingsTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("cgroup-settings-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public void The_stanzas_become_cgroup_files()
    {
        var job = JobAssert.Parses("memory max 64M\ntasks max 32\ncpu weight 200\ncgroup memory memory.high 48M\ncgroup pids\n");

        Assert.That(CgroupSettings.From(job), Is.EqualTo(new[]
        {
            new CgroupSetting("memory", "memory.max", "67108864", "memory max 64M"),
            new CgroupSetting("pids", "pids.max", "32", "tasks max 32"),
            new CgroupSetting("cpu", "cpu.weight", "200", "cpu weight 200"),
            new CgroupSetting("memory", "memory.high", "48M", "cgroup memory memory.high 48M"),
            new CgroupSetting("pids", "", "", "cgroup pids"),
        }));
    }

    [TestCase("cgroup cpu mygroup cpu.shares 512", "cgroup cpu mygroup cpu.shares 512: expected cgroup CONTROLLER [KEY VALUE]; named cgroups are not supported (each job instance has its own)")]
    [TestCase("cgroup memory cpu.weight 5", "cgroup memory cpu.weight 5: cpu.weight is not a file of the memory controller (memory.*)")]
    [TestCase("cgroup memory memory.max/../x 5", "cgroup memory memory.max/../x 5: memory.max/../x is not a file of the memory controller (memory.*)")]
    public void Upstart_forms_supd_cannot_honour_fail_the_start_naming_them(string stanza, string message)
    {
        var job = JobAssert.Parses(stanza + "\n");
        Assert.That(() => CgroupSettings.From(job), Throws.TypeOf<ContainmentException>().With.Message.EqualTo(message));
    }

    [TestCase("memory max lots", "Illegal memory size, expected bytes or a number with K, M or G suffix (got 'lots')")]
    [TestCase("tasks max 0", "Illegal tasks max, expected a positive integer (got '0')")]
    [TestCase("cpu weight 10001", "Illegal cpu weight, expected an integer from 1 to 10000 (got '10001')")]
    [TestCase("memory min 1M", "Unknown stanza 'memory min'")]
    public void Bad_values_are_parse_errors(string stanza, string message) =>
        JobAssert.FailsWith(stanza + "\n", message);

    [Test]
    public void The_printer_writes_them_back()
    {
        var job = JobAssert.Parses("memory max 64M\ntasks max 32\ncpu weight 200\n");
        Assert.That(Supervisor.Core.Language.JobPrinter.Print(job), Does.Contain("memory max 67108864\ntasks max 32\ncpu weight 200\n"));
    }

    // A fake hierarchy: the root offers memory and pids (cgroup.controllers), supd's tree has none turned on yet.
    private (CgroupContainment Containment, string Jobs) FakeTree(string offered)
    {
        File.WriteAllText(Path.Join(_root, "cgroup.controllers"), offered + "\n");
        File.WriteAllText(Path.Join(_root, "cgroup.subtree_control"), "");
        var jobs = Path.Join(_root, "supd");
        var containment = new CgroupContainment(new ContainmentMode(_root, jobs, null, "root"), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.That(containment.Open(out var error), error);
        File.WriteAllText(Path.Join(jobs, "cgroup.controllers"), "");
        return (containment, jobs);
    }

    [Test]
    public void A_setting_is_written_into_the_new_group_and_its_controller_turned_on_above_it()
    {
        var (containment, jobs) = FakeTree("cpu memory pids");
        var settings = CgroupSettings.From(JobAssert.Parses("memory max 64M\n"));

        var group = containment.Prepare(new ContainmentUnit("tag", "web", settings))!;

        Assert.That(File.ReadAllText(Path.Join(group, "memory.max")), Is.EqualTo("67108864"));
        Assert.That(File.ReadAllText(Path.Join(_root, "cgroup.subtree_control")), Is.EqualTo("+memory"), "on in the hierarchy's root");
        Assert.That(File.ReadAllText(Path.Join(jobs, "cgroup.subtree_control")), Is.EqualTo("+memory"), "on in supd's tree, for the job groups");
    }

    [Test]
    public void A_controller_the_v2_hierarchy_lacks_fails_the_start_naming_the_stanza()
    {
        var (containment, jobs) = FakeTree("hugetlb");
        var settings = CgroupSettings.From(JobAssert.Parses("tasks max 10\n"));

        Assert.That(() => containment.Prepare(new ContainmentUnit("tag", "web", settings)), Throws.TypeOf<ContainmentException>().With.Message.EqualTo(
            $"tasks max 10: the pids controller is not available in cgroup v2 at {_root} (it has: hugetlb; a controller bound to a v1 hierarchy is not)"));
        Assert.That(Directory.EnumerateDirectories(jobs), Is.Empty, "no group made for a start that cannot have its settings");
    }

    [Test]
    public void Without_cgroups_a_setting_cannot_be_had()
    {
        var tags = new TagContainment(ContainmentMode.ProcessGroups("no cgroup v2 hierarchy is mounted"), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var settings = CgroupSettings.From(JobAssert.Parses("cpu weight 50\n"));

        Assert.That(() => tags.Prepare(new ContainmentUnit("tag", "web", settings)), Throws.TypeOf<ContainmentException>().With.Message.EqualTo(
            "cpu weight 50 needs a cgroup, and supd contains jobs by process groups (no cgroup v2 hierarchy is mounted)"));
        Assert.That(tags.Prepare(new ContainmentUnit("tag", "web", [])), Is.Null);
    }
}
