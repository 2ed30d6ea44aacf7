using System.CommandLine;

namespace Supervisor.Daemon.Hosting;

/// <summary>supd's flags. They become the highest-priority configuration source (above supd.json and SUPD_*).</summary>
public sealed class SupdCommandLine
{
    public Option<string[]> JobDirs { get; } = new("--job-dir")
    {
        Description = "Directory of job files (*.conf); repeat for several. Default: /etc/supd/init as root, ~/.config/supd/init otherwise",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> Socket { get; } = new("--socket") { Description = "Control socket path" };
    public Option<string?> LogDir { get; } = new("--log-dir") { Description = "Directory of job logs and supd.log" };
    public Option<string?> StateDir { get; } = new("--state-dir") { Description = "Directory of supd's persisted state" };
    public Option<string?> ConfigFile { get; } = new("--config") { Description = "supd.json to read (default: /etc/supd/supd.json or ~/.config/supd/supd.json, if present)" };

    public Option<bool> LogToStdout { get; } = new("--log-to-stdout")
    {
        Description = "Also write every job's output to supd's stdout as 'JOB| line' (for containers)",
    };

    public Option<bool> LogToJournal { get; } = new("--log-to-journal")
    {
        Description = "Also send every job's output (SYSLOG_IDENTIFIER=JOB) and supd's own log (supd) to journald",
    };

    public Option<string?> LogLevel { get; } = new("--log-level")
    {
        Description = "What supd logs: Debug (every state change, event and allowed request), Information (default: one line per job start, exit and stop), Warning, Error",
        HelpName = "LEVEL",
    };

    public Option<string?> Http { get; } = new("--http")
    {
        Description = "Serve /metrics and the status page over HTTP on ADDRESS:PORT (a bare PORT: loopback), e.g. 127.0.0.1:9337; off by default",
        HelpName = "ADDRESS:PORT",
    };

    public Option<bool> Check { get; } = new("--check")
    {
        Description = "Check every job file and exit (0: all valid, 1: errors), like nginx -t; no daemon is started",
    };

    public RootCommand Root { get; }

    public SupdCommandLine()
    {
        Root = new RootCommand("supd: a process supervisor that runs Upstart-syntax job files")
        {
            JobDirs, Socket, LogDir, StateDir, ConfigFile, LogToStdout, LogToJournal, LogLevel, Http, Check,
        };
        // `supd --version` in the form `supctl version` and Upstart's `init --version` use: "supd (supd 0.1.0)".
        foreach (var option in Root.Options.OfType<VersionOption>())
            option.Action = new PrintVersion();
    }

    /// <summary>The flags given, as configuration keys (only those present).</summary>
    public Dictionary<string, string?> ToConfiguration(ParseResult parse)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var dirs = parse.GetValue(JobDirs) ?? [];
        for (var i = 0; i < dirs.Length; i++) values[$"JobDirs:{i}"] = dirs[i];
        Add(values, "Socket", parse.GetValue(Socket));
        Add(values, "LogDir", parse.GetValue(LogDir));
        Add(values, "StateDir", parse.GetValue(StateDir));
        Add(values, "LogLevel", parse.GetValue(LogLevel));
        Add(values, "Http:Listen", parse.GetValue(Http));
        if (parse.GetValue(LogToStdout)) values["LogToStdout"] = "true";
        if (parse.GetValue(LogToJournal)) values["LogToJournal"] = "true";
        return values;
    }

    private static void Add(Dictionary<string, string?> values, string key, string? value)
    {
        if (value is not null) values[key] = value;
    }
}

internal sealed class PrintVersion : System.CommandLine.Invocation.SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Grpc.SupervisorService.VersionText);
        return 0;
    }
}
