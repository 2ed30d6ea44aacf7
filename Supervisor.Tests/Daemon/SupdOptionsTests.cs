extern alias daemon;
using daemon::Supervisor.Daemon.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Supervisor.Core.Access;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Daemon;

/// <summary>
/// supd's settings as the options classes bind them from the documented sources (supd.json keys, flags; README
/// "Where things are", docs/access-control.md "Settings") and refuse them, with the one line supd starts with.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public class SupdOptionsTests
{
    // A user with XDG_RUNTIME_DIR and HOME, and nothing else set.
    private static readonly SupdEnvironment User = new(1000, name => name switch
    {
        "HOME" => "/home/u",
        "XDG_RUNTIME_DIR" => "/run/user/1000",
        _ => null,
    });

    // Every concern as SupdHost.AddSupd registers it; only options are resolved, nothing is started.
    private ServiceProvider Compose(Dictionary<string, string?> settings, IReadOnlyList<string>? jobDirFlags = null, SupdEnvironment? environment = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton(environment ?? User);
        services.AddSupd(configuration, jobDirFlags, _signals);
        return services.BuildServiceProvider();
    }

    private ControlSignals _signals = null!;

    [OneTimeSetUp]
    public void CatchSignals() => _signals = new ControlSignals();

    [OneTimeTearDown]
    public void ReleaseSignals() => _signals.Dispose();

    private static T Options<T>(ServiceProvider services) where T : class => services.GetRequiredService<IOptions<T>>().Value;

    [Test]
    public void Nothing_configured_gives_the_documented_defaults_for_a_user()
    {
        using var services = Compose([]);
        var supervision = Options<SupervisionOptions>(services);
        Assert.That(supervision.JobDirs, Is.EqualTo(new[] { "/home/u/.config/supd/init" }));
        Assert.That(supervision.UsesDefaultJobDir, Is.True);
        Assert.That(supervision.BootEvents, Is.EqualTo("filesystem; runlevel RUNLEVEL=2 PREVLEVEL=N"));
        Assert.That(supervision.ShutdownEvent, Is.EqualTo("runlevel RUNLEVEL=0 PREVLEVEL=2"));
        Assert.That(supervision.ParseRespawnDelay(), Is.Null);
        Assert.That(supervision.ParseCheckTimeout(), Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(Options<ControlSocketOptions>(services).Socket, Is.EqualTo("/run/user/1000/supd/supd.sock"));
        Assert.That(ControlSocketOptions.ParseSocketMode(Options<ControlSocketOptions>(services).SocketMode), Is.EqualTo((UnixFileMode)0x1B0));
        Assert.That(Options<ControlSocketOptions>(services).ResolveSocketGroup(), Is.Null);
        var logs = Options<JobLogOptions>(services);
        Assert.That(logs.LogDir, Is.EqualTo("/home/u/.local/state/supd/log"));
        Assert.That(logs.ParseRotation(), Is.EqualTo(new Supervisor.Core.Language.LogRotation(10 * 1024 * 1024, 5)));
        Assert.That(logs.ParseInstanceLogRetention(), Is.EqualTo(10));
        Assert.That(Options<StateOptions>(services).StateDir, Is.EqualTo("/home/u/.local/state/supd"));
        Assert.That(Options<SupdLogOptions>(services).LogLevel, Is.EqualTo("Information"));
        Assert.That(Options<AccessOptions>(services).Rules, Is.Empty);
    }

    [Test]
    public void Root_gets_the_system_paths()
    {
        using var services = Compose([], environment: new SupdEnvironment(0, _ => null));
        Assert.That(Options<SupervisionOptions>(services).JobDirs, Is.EqualTo(new[] { "/etc/supd/init" }));
        Assert.That(Options<ControlSocketOptions>(services).Socket, Is.EqualTo("/run/supd/supd.sock"));
        Assert.That(Options<JobLogOptions>(services).LogDir, Is.EqualTo("/var/log/supd"));
        Assert.That(Options<StateOptions>(services).StateDir, Is.EqualTo("/var/lib/supd"));
    }

    [Test]
    public void Every_key_binds_to_its_concern_and_paths_become_absolute()
    {
        using var services = Compose(new()
        {
            ["JobDirs:0"] = "/srv/a", ["JobDirs:1"] = "rel/b", ["Socket"] = "/tmp/x/s.sock", ["LogDir"] = "/tmp/x/log",
            ["StateDir"] = "/tmp/x/state", ["BootEvents"] = "", ["ShutdownEvent"] = "halt", ["Supctl"] = "/opt/supctl",
            ["ShutdownGraceSeconds"] = "3", ["RespawnDelay"] = "1 60", ["CheckTimeoutSeconds"] = "2.5", ["EventHistory"] = "7",
            ["EventQueueSize"] = "9", ["SocketMode"] = "0600", ["SocketGroup"] = "root", ["LogRotateSize"] = "2K",
            ["LogRotateCount"] = "0", ["InstanceLogRetention"] = "0", ["LogTimestamps"] = "true", ["LogToStdout"] = "true",
            ["LogLevel"] = "debug", ["Access:Rules:0:User"] = "root", ["Access:Rules:0:Rights:0"] = "read", ["Access:Rules:0:Jobs:0"] = "team-a/*",
        });
        var supervision = Options<SupervisionOptions>(services);
        Assert.That(supervision.JobDirs, Is.EqualTo(new[] { "/srv/a", Path.GetFullPath("rel/b") }));
        Assert.That(supervision.UsesDefaultJobDir, Is.False);
        Assert.That((supervision.BootEvents, supervision.ShutdownEvent, supervision.Supctl, supervision.ShutdownGraceSeconds),
            Is.EqualTo(("", "halt", "/opt/supctl", 3.0)));
        Assert.That(supervision.ParseRespawnDelay(), Is.EqualTo(new Supervisor.Core.Language.RespawnDelay(1, 60)));
        Assert.That(supervision.ParseCheckTimeout(), Is.EqualTo(TimeSpan.FromSeconds(2.5)));
        Assert.That((supervision.EventHistory, supervision.EventQueueSize), Is.EqualTo((7, 9)));
        var socket = Options<ControlSocketOptions>(services);
        Assert.That(socket.Socket, Is.EqualTo("/tmp/x/s.sock"));
        Assert.That(ControlSocketOptions.ParseSocketMode(socket.SocketMode), Is.EqualTo((UnixFileMode)0x180));
        Assert.That(socket.ResolveSocketGroup(), Is.EqualTo(0u));
        var logs = Options<JobLogOptions>(services);
        Assert.That(logs.LogDir, Is.EqualTo("/tmp/x/log"));
        Assert.That(logs.ParseRotation(), Is.EqualTo(new Supervisor.Core.Language.LogRotation(2048, 0)));
        Assert.That((logs.ParseInstanceLogRetention(), logs.LogTimestamps, logs.LogToStdout), Is.EqualTo((0, true, true)));
        Assert.That(Options<StateOptions>(services).StateDir, Is.EqualTo("/tmp/x/state"));
        Assert.That(SupdLogOptions.ParseLogLevel(Options<SupdLogOptions>(services).LogLevel), Is.EqualTo(Serilog.Events.LogEventLevel.Debug));
        var rule = Options<AccessOptions>(services).Rules.Single();
        Assert.That((rule.User, rule.Rights.Single(), rule.Jobs.Single()), Is.EqualTo(("root", "read", "team-a/*")));
        Assert.That(services.GetRequiredService<AccessPolicy>().Rules, Has.Count.EqualTo(1));
    }

    [Test]
    public void Core_settings_carry_the_socket_respawn_delay_and_check_timeout()
    {
        using var services = Compose(new() { ["Socket"] = "/tmp/y/s.sock", ["CheckTimeoutSeconds"] = "4", ["Supctl"] = "/nonexistent/supctl" });
        var core = Options<SupervisorOptions>(services);
        Assert.That(core.JobEnvironment, Is.EqualTo(new[] { new KeyValuePair<string, string>("SUPD_SOCKET", "/tmp/y/s.sock") }));
        Assert.That(core.CheckTimeout, Is.EqualTo(TimeSpan.FromSeconds(4)));
        // No supctl to link to: the job tools are not put in PATH.
        Assert.That(core.DefaultPath, Is.EqualTo(new SupervisorOptions().DefaultPath));
    }

    [Test]
    public void Job_dir_flags_replace_the_configured_dirs_instead_of_merging_by_index()
    {
        using var services = Compose(new() { ["JobDirs:0"] = "/etc/a", ["JobDirs:1"] = "/etc/b", ["JobDirs:2"] = "/etc/c" }, jobDirFlags: ["/flag"]);
        Assert.That(Options<SupervisionOptions>(services).JobDirs, Is.EqualTo(new[] { "/flag" }));
    }

    [Test]
    public void The_configuration_sources_put_flags_over_supd_json_and_json_keys_bind()
    {
        var dir = Directory.CreateTempSubdirectory("supd-options-");
        try
        {
            var json = Path.Combine(dir.FullName, "supd.json");
            File.WriteAllText(json, """{ "JobDirs": ["/j1", "/j2"], "Socket": "/from/json.sock", "LogDir": "/from/json/log", "SocketMode": "0600" }""");
            var flags = new Dictionary<string, string?> { ["JobDirs:0"] = "/flag/jobs", ["Socket"] = "/from/flag.sock" };
            var configuration = SupdConfiguration.Add(new ConfigurationBuilder(), flags, json, User).Build();
            Assert.That(configuration["Socket"], Is.EqualTo("/from/flag.sock"));
            Assert.That(configuration["LogDir"], Is.EqualTo("/from/json/log"));
            Assert.That(configuration["SocketMode"], Is.EqualTo("0600"));
            Assert.That(SupdConfiguration.JobDirFlags(flags), Is.EqualTo(new[] { "/flag/jobs" }));
            Assert.That(SupdConfiguration.JobDirFlags(new Dictionary<string, string?> { ["Socket"] = "/s" }), Is.Null);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void A_config_file_named_but_missing_is_refused()
    {
        var missing = "/nonexistent/supd-options/supd.json";
        var e = Assert.Throws<StartupException>(() => SupdConfiguration.Add(new ConfigurationBuilder(), new Dictionary<string, string?>(), missing, User));
        Assert.That(e!.Message, Is.EqualTo($"configuration file not found: {missing}"));
    }

    [TestCase("SocketMode", "rw-rw----", typeof(ControlSocketOptions), "SocketMode is not an octal permission mode (like 0660): rw-rw----")]
    [TestCase("SocketMode", "01000", typeof(ControlSocketOptions), "SocketMode is not an octal permission mode (like 0660): 01000")]
    [TestCase("SocketGroup", "no-such-group-x", typeof(ControlSocketOptions), "SocketGroup: unknown group: no-such-group-x")]
    [TestCase("LogRotateSize", "ten", typeof(JobLogOptions), "LogRotateSize is not a size (bytes, or a number with K, M or G: 10M): ten")]
    [TestCase("LogRotateCount", "-1", typeof(JobLogOptions), "LogRotateCount must not be negative: -1")]
    [TestCase("InstanceLogRetention", "-2", typeof(JobLogOptions), "InstanceLogRetention must be 0 or more (finished instances whose logs are kept per job): -2")]
    [TestCase("LogLevel", "loud", typeof(SupdLogOptions), "LogLevel is not one of Debug, Information, Warning, Error: loud")]
    [TestCase("RespawnDelay", "60 1", typeof(SupervisionOptions), "RespawnDelay is not \"MIN [MAX]\" in seconds with 0 < MIN <= MAX (like \"1 60\"): 60 1")]
    [TestCase("CheckTimeoutSeconds", "0", typeof(SupervisionOptions), "CheckTimeoutSeconds must be a number of seconds above 0: 0")]
    [TestCase("Access:Rules:0:Group", "no-such-group-x", typeof(AccessOptions), "access rule 1: unknown group: no-such-group-x")]
    public void A_bad_value_is_refused_with_its_one_line(string key, string text, Type options, string message)
    {
        var settings = new Dictionary<string, string?> { [key] = text };
        if (key.StartsWith("Access:", StringComparison.Ordinal)) settings["Access:Rules:0:Rights:0"] = "read";
        using var services = Compose(settings);
        var optionsType = typeof(IOptions<>).MakeGenericType(options);
        var value = optionsType.GetProperty(nameof(IOptions<object>.Value))!;
        var failure = Assert.Catch(() => value.GetValue(services.GetRequiredService(optionsType)))?.InnerException;
        Assert.That(failure, Is.InstanceOf<OptionsValidationException>());
        Assert.That(StartupException.Describe(failure!), Is.EqualTo(message));
    }

    [TestCase("debug", Serilog.Events.LogEventLevel.Debug)]
    [TestCase(" Information ", Serilog.Events.LogEventLevel.Information)]
    [TestCase("INFO", Serilog.Events.LogEventLevel.Information)]
    [TestCase("warn", Serilog.Events.LogEventLevel.Warning)]
    [TestCase("Error", Serilog.Events.LogEventLevel.Error)]
    [TestCase("trace", Serilog.Events.LogEventLevel.Verbose)]
    [TestCase("fatal", Serilog.Events.LogEventLevel.Fatal)]
    public void Log_levels_are_read_in_any_case(string text, Serilog.Events.LogEventLevel level) =>
        Assert.That(SupdLogOptions.ParseLogLevel(text), Is.EqualTo(level));

    [TestCase("0660", 0x1B0)]
    [TestCase(" 600", 0x180)]
    [TestCase("0", 0)]
    [TestCase("777", 0x1FF)]
    public void Socket_modes_are_octal(string text, int mode) =>
        Assert.That(ControlSocketOptions.ParseSocketMode(text), Is.EqualTo((UnixFileMode)mode));

    [TestCase("")]
    [TestCase("8")]
    [TestCase("1000")]
    [TestCase("-1")]
    [TestCase("99999999999999")]
    public void Other_socket_modes_are_refused(string text) =>
        Assert.That(() => ControlSocketOptions.ParseSocketMode(text),
            Throws.TypeOf<StartupException>().With.Message.EqualTo($"SocketMode is not an octal permission mode (like 0660): {text}"));

    [Test]
    public void Several_failures_are_described_by_the_first()
    {
        var e = new AggregateException(new InvalidOperationException("not ours"), new OptionsValidationException("x", typeof(JobLogOptions), ["first", "second"]));
        Assert.That(StartupException.Describe(e), Is.EqualTo("first"));
        Assert.That(StartupException.Describe(new InvalidOperationException("a bug")), Is.Null);
    }
}
