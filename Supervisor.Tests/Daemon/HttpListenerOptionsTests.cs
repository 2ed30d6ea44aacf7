extern alias daemon;
using System.Net;
using daemon::Supervisor.Daemon.Hosting;
using NUnit.Framework;

namespace Supervisor.Tests.Daemon;

/// <summary><c>Http:Listen</c> / <c>--http</c>: off unless set, loopback unless another address is named, refused with one line.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HttpListenerOptionsTests
{
    [TestCase(null)]
    [TestCase("")]
    [TestCase("  ")]
    public void Not_set_means_no_listener(string? listen) =>
        Assert.That(new HttpListenerOptions { Listen = listen }.ParseListen(), Is.Null);

    [TestCase("9337", "127.0.0.1:9337")]
    [TestCase("localhost:9337", "127.0.0.1:9337")]
    [TestCase("127.0.0.1:0", "127.0.0.1:0")]
    [TestCase("[::1]:9337", "[::1]:9337")]
    [TestCase("0.0.0.0:9337", "0.0.0.0:9337")]
    [TestCase("192.0.2.7:80", "192.0.2.7:80")]
    public void A_bare_port_is_loopback_and_a_named_address_is_taken_as_named(string listen, string expected) =>
        Assert.That(new HttpListenerOptions { Listen = listen }.ParseListen(), Is.EqualTo(IPEndPoint.Parse(expected)));

    [TestCase("example.com:9337")]
    [TestCase("127.0.0.1")]
    [TestCase("127.0.0.1:99999")]
    [TestCase("127.0.0.1:-1")]
    [TestCase("::1")]
    [TestCase("http://127.0.0.1:9337")]
    public void Anything_else_is_refused_naming_the_key_and_the_value(string listen)
    {
        var e = Assert.Throws<StartupException>(() => new HttpListenerOptions { Listen = listen }.ParseListen());
        Assert.That(e!.Message, Does.StartWith("Http:Listen is not ADDRESS:PORT").And.EndWith(listen));
    }

    [Test]
    public void The_flags_become_the_documented_keys()
    {
        var line = new SupdCommandLine();
        var values = line.ToConfiguration(line.Root.Parse(["--http", "9337", "--log-to-journal"]));
        Assert.That(values["Http:Listen"], Is.EqualTo("9337"));
        Assert.That(values["LogToJournal"], Is.EqualTo("true"));
        Assert.That(line.ToConfiguration(line.Root.Parse([])).Keys, Has.None.StartWith("Http").And.None.EqualTo("LogToJournal"));
    }
}
