extern alias daemon;
using daemon::Supervisor.Daemon.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Supervisor.Core.Processes;
using Supervisor.Tests.Core.Lifecycle;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Daemon;

/// <summary>
/// supd's host composed as <c>SupdHost</c> composes it and started in-process on temp dirs (its processes faked, no
/// job runs): the concerns start in the documented order, Kestrel after the supervision, and a bad setting stops the
/// start before any directory, lock or log file is made.
/// </summary>
[TestFixture]
public class SupdHostTests
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("supd-host-");

    [TearDown]
    public void TearDown() => _dir.Delete(recursive: true);

    private string In(string name) => Path.Combine(_dir.FullName, name);

    private WebApplication Build(ControlSignals signals, Dictionary<string, string?>? extra = null)
    {
        Directory.CreateDirectory(In("init"));
        var settings = new Dictionary<string, string?>
        {
            ["JobDirs:0"] = In("init"), ["Socket"] = In("run/supd.sock"), ["LogDir"] = In("log"), ["StateDir"] = In("state"),
            ["Supctl"] = In("no-supctl"),
            // supd in the test host: no fd holder (its command would be the test host's), the keeper is FdHolderTests'.
            ["PipeKeeper"] = "none",
        };
        foreach (var (key, value) in extra ?? []) settings[key] = value;
        // No supd.json of the user's is read (XDG_CONFIG_HOME is the temp dir), no systemd is notified.
        var environment = new SupdEnvironment(4242, name => name == "XDG_CONFIG_HOME" ? _dir.FullName : null);
        var builder = SupdHost.CreateBuilder(settings, null, environment, signals);
        builder.Services.AddSingleton<IProcessControl, FakeProcessControl>();
        return builder.Build();
    }

    [Test]
    public async Task The_concerns_start_in_the_documented_order_and_Kestrel_last()
    {
        using var signals = new ControlSignals();
        await using var app = Build(signals);
        var order = app.Services.GetServices<IHostedService>().Select(s => s.GetType().Name).ToList();
        Assert.That(order, Is.EqualTo(new[]
        {
            nameof(LogDirectoryCheck), nameof(SupdLogFileOpening), nameof(PersistedGoals), nameof(ControlSocketLifecycle), nameof(SurvivalLifecycle),
            nameof(AccessPolicyAnnouncement), nameof(ContainmentLifecycle), nameof(ControlSignalHandlers), nameof(SupervisorRuntime),
            nameof(HttpListenerLifecycle), nameof(SystemdReadiness),
            "GenericWebHostService",
        }));
    }

    [Test]
    public async Task A_started_host_listens_on_a_secured_socket_and_stopping_removes_it()
    {
        using var signals = new ControlSignals();
        await using var app = Build(signals, new() { ["SocketMode"] = "0600" });
        await app.StartAsync();
        try
        {
            var socket = In("run/supd.sock");
            Assert.That(File.Exists(socket), "Kestrel listens on the socket");
            Assert.That(File.GetUnixFileMode(socket), Is.EqualTo((UnixFileMode)0x180), "StartedAsync gave it SocketMode");
            Assert.That(File.Exists(socket + ".lock"), "the single-instance lock is held");
            Assert.That(File.Exists(In("state/goals.json")) || Directory.Exists(In("state")), "the state dir was made");
            await Eventually.TrueAsync(() => File.Exists(In("log/supd.log")) && File.ReadAllText(In("log/supd.log")).Contains("Listening on " + socket, StringComparison.Ordinal),
                "supd.log says where supd listens");
            Assert.That(File.ReadAllText(In("log/supd.log")), Does.Contain("supd started: 0 jobs loaded"));
        }
        finally
        {
            await app.StopAsync();
        }
        await app.DisposeAsync();
        Assert.That(File.Exists(In("run/supd.sock")), Is.False, "the socket is removed");
        Assert.That(File.Exists(In("run/supd.sock.lock")), Is.False, "the lock file is removed");
        Assert.That(File.ReadAllText(In("log/supd.log")), Does.Contain("supd stopped"));
    }

    [TestCase("SocketMode", "rw-rw----", "SocketMode is not an octal permission mode (like 0660): rw-rw----")]
    [TestCase("LogRotateSize", "huge", "LogRotateSize is not a size (bytes, or a number with K, M or G: 10M): huge")]
    [TestCase("RespawnDelay", "0", "RespawnDelay is not \"MIN [MAX]\" in seconds with 0 < MIN <= MAX (like \"1 60\"): 0")]
    public async Task A_bad_setting_stops_the_start_before_anything_is_made(string key, string value, string message)
    {
        using var signals = new ControlSignals();
        // Checked when the host is built (the logger reads the log settings, Kestrel the socket's) or started.
        var failure = Assert.CatchAsync(async () =>
        {
            await using var app = Build(signals, new() { [key] = value });
            await app.StartAsync();
        });
        Assert.That(StartupException.Describe(failure!), Is.EqualTo(message));
        Assert.That(Directory.Exists(In("log")), Is.False, "no log dir");
        Assert.That(Directory.Exists(In("state")), Is.False, "no state dir");
        Assert.That(Directory.Exists(In("run")), Is.False, "no socket dir, no lock");
    }

    [Test]
    public void A_bad_log_level_stops_supd_when_the_host_is_built()
    {
        using var signals = new ControlSignals();
        var failure = Assert.Catch(() => Build(signals, new() { ["LogLevel"] = "loud" }));
        Assert.That(StartupException.Describe(failure!), Is.EqualTo("LogLevel is not one of Debug, Information, Warning, Error: loud"));
        Assert.That(Directory.Exists(In("log")), Is.False);
    }
}
