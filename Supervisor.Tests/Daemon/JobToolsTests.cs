extern alias daemon;
using daemon::Supervisor.Daemon.Hosting;
using NUnit.Framework;

namespace Supervisor.Tests.Daemon;

/// <summary>The links jobs reach supctl by (initctl, start, stop…) in STATEDIR/bin.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public class JobToolsTests
{
    [Test]
    public void Install_links_every_name_to_supctl_and_replaces_old_links()
    {
        var dir = Directory.CreateTempSubdirectory("supd-tools-");
        try
        {
            var supctl = Path.Combine(dir.FullName, "supctl");
            File.WriteAllText(supctl, "");
            var state = Path.Combine(dir.FullName, "state");
            Directory.CreateDirectory(Path.Combine(state, "bin"));
            File.CreateSymbolicLink(Path.Combine(state, "bin", "start"), "/old/supctl");
            File.WriteAllText(Path.Combine(state, "bin", "stop"), "a file left there");

            var bin = JobTools.Install(state, supctl);

            Assert.That(bin, Is.EqualTo(Path.Combine(state, "bin")));
            Assert.That(JobTools.Names, Is.EqualTo(new[] { "initctl", "start", "stop", "restart", "reload", "status" }));
            foreach (var name in JobTools.Names)
                Assert.That(new FileInfo(Path.Combine(bin, name)).LinkTarget, Is.EqualTo(supctl), name);
            // Again: the same links, nothing refused.
            JobTools.Install(state, supctl);
            Assert.That(Directory.GetFileSystemEntries(bin), Has.Length.EqualTo(JobTools.Names.Length));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void A_configured_supctl_is_used_when_it_exists_and_not_otherwise()
    {
        var dir = Directory.CreateTempSubdirectory("supd-tools-");
        try
        {
            var supctl = Path.Combine(dir.FullName, "my-supctl");
            File.WriteAllText(supctl, "");
            Assert.That(JobTools.Locate(supctl), Is.EqualTo(supctl));
            Assert.That(JobTools.Locate(Path.Combine(dir.FullName, "missing")), Is.Null);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
