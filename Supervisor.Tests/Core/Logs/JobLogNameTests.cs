using NUnit.Framework;
using Supervisor.Core.Logs;

namespace Supervisor.Tests.Core.Logs;

/// <summary>Log file names: single-instance names as before, and no two (job, instance) pairs ever share a file.</summary>
[TestFixture]
[Category("Hardening")]
public sealed class JobLogNameTests
{
    [TestCase("web", "", "web.log")]
    [TestCase("web-admin", "", "web-admin.log")]
    [TestCase("my_app", "", "my_app.log")]
    [TestCase("web", "admin", "web@admin.log")]
    [TestCase("net/foo", "eth0", "net%2Ffoo@eth0.log")]
    [TestCase("a@b", "c", "a%40b@c.log")]
    [TestCase("web", "../../etc/x", "web@..%2F..%2Fetc%2Fx.log")]
    [TestCase("web", "a\nb", "web@a%0Ab.log")]
    [TestCase("supd", "", "%73upd.log")]
    [TestCase("supd_001", "", "%73upd_001.log")]
    [TestCase("supd_x", "", "supd_x.log")]
    [TestCase("supd", "1", "%73upd@1.log")]
    public void Names(string job, string instance, string expected) =>
        Assert.That(JobLogDirectory.FileName(job, instance), Is.EqualTo(expected));

    [Test]
    public void No_two_job_instance_pairs_share_a_file()
    {
        // Every string up to 3 characters over the characters that matter, as job and as instance: 160 000 pairs.
        char[] alphabet = ['a', '-', '_', '/', '@', '%', 's'];
        var strings = new List<string> { "" };
        for (var length = 1; length <= 3; length++)
            strings.AddRange(strings.Where(s => s.Length == length - 1).SelectMany(s => alphabet.Select(c => s + c)).ToList());
        strings.AddRange(["supd", "supd_001", "supd_01", "%73upd", "supd@"]);
        var seen = new Dictionary<string, (string, string)>();
        foreach (var job in strings.Where(s => s.Length > 0))
        foreach (var instance in strings)
        {
            var name = JobLogDirectory.FileName(job, instance);
            Assert.That(seen.TryAdd(name, (job, instance)), Is.True, $"{job}/{instance} and {seen.GetValueOrDefault(name)} both → {name}");
            Assert.That(name, Does.Not.Contain("/"));
            Assert.That(name is "supd.log" || name.StartsWith("supd_0", StringComparison.Ordinal), Is.False, name);
        }
    }
}
