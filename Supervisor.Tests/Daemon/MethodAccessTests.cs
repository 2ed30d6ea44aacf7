extern alias daemon;
using daemon::Supervisor.Daemon.Access;
using NUnit.Framework;
using Supervisor.Core.Access;
using ProtoRight = daemon::Supervisor.Protocol.Right;

namespace Supervisor.Tests.Daemon;

/// <summary>The daemon's table of each RPC's verb and right, built from the proto's method options, and its fallbacks.</summary>
[TestFixture]
public sealed class MethodAccessTests
{
    [TestCase("/supd.v1.Supervisor/Status", "status", AccessRight.Read)]
    [TestCase("/supd.v1.Supervisor/Start", "start", AccessRight.Control)]
    [TestCase("/supd.v1.Supervisor/WatchEvents", "events", AccessRight.Read)]
    [TestCase("/supd.v1.Supervisor/ReloadConfiguration", "reload-configuration", AccessRight.Admin)]
    public void Each_rpc_has_the_verb_and_right_its_options_give(string path, string verb, AccessRight right) =>
        Assert.That(MethodAccess.For(path), Is.EqualTo(new MethodAccess(verb, right)));

    [Test]
    public void Every_rpc_of_the_service_is_in_the_table() =>
        Assert.That(MethodAccess.Table.Keys, Is.EquivalentTo(
            daemon::Supervisor.Protocol.Supervisor.Descriptor.Methods.Select(m => $"/supd.v1.Supervisor/{m.Name}")));

    [Test]
    public void A_method_the_service_does_not_declare_needs_admin() =>
        Assert.That(MethodAccess.For("/supd.v1.Supervisor/Frobnicate"), Is.EqualTo(new MethodAccess("Frobnicate", AccessRight.Admin)));

    [Test]
    public void A_method_without_a_right_option_needs_admin() =>
        Assert.That(MethodAccess.ToCore(ProtoRight.Unspecified), Is.EqualTo(AccessRight.Admin));
}
