using System.Diagnostics;
using NUnit.Framework;
using Supervisor.Core.Processes.Containment;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Processes.Containment;

/// <summary>Process-group mode's scan: real processes below this test host, found by their SUPD_TAG, one scan for many tags.</summary>
[TestFixture]
public sealed class TagContainmentTests
{
    [Test]
    public async Task One_scan_finds_each_tags_descendants_however_deep_and_nothing_else()
    {
        var started = new List<Process>();
        Process Start(string tag, string script)
        {
            var info = new ProcessStartInfo("/bin/sh", ["-c", script]);
            info.Environment["SUPD_TAG"] = tag;
            var process = Process.Start(info)!;
            started.Add(process);
            return process;
        }
        try
        {
            var a = Start("tag-a", "exec sleep 1000");
            // A grandchild in its own session, as a setsid'd stray is: still below us, still carrying its tag.
            var b = Start("tag-b", "setsid sleep 1001 & wait");
            var other = Start("tag-other", "exec sleep 1002");
            int? stray = null;
            await Eventually.TrueAsync(() => (stray = ProcessTable.Descendants(b.Id).FirstOrDefault()) is > 0, "the setsid'd sleep to start");

            var found = TagContainment.FindTagged(new HashSet<string> { "tag-a", "tag-b", "tag-none" }, Environment.ProcessId);

            Assert.That(found["tag-a"], Is.EquivalentTo(new[] { a.Id }));
            Assert.That(found["tag-b"], Is.EquivalentTo(new[] { b.Id, stray!.Value }));
            Assert.That(found.ContainsKey("tag-none"), Is.False);
            Assert.That(found.Values.SelectMany(p => p), Does.Not.Contain(other.Id), "a tag not asked for");
        }
        finally
        {
            foreach (var process in started)
            {
                foreach (var pid in ProcessTable.Descendants(process.Id)) SupdHarness.Signal(pid, 9);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }
    }
}
