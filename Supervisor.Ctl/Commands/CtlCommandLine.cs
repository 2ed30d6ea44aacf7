using System.CommandLine;
using System.CommandLine.Help;
using Supervisor.Ctl.Formatting;
using Supervisor.Ctl.Verbs;

namespace Supervisor.Ctl.Commands;

/// <summary>supctl's command line: the root command, its options, and one verb per file in <c>Verbs/</c>, in help order.</summary>
internal sealed class CtlCommandLine
{
    /// <summary>--socket, on every verb.</summary>
    public static Option<string?> Socket { get; } = new("--socket")
    {
        Description = "supd's control socket (default: $SUPD_SOCKET, else supd's default for this user)",
        Recursive = true,
    };

    public CtlCommandLine()
    {
        // Not a RootCommand: that is named after argv[0], and a native supctl linked as `status` (or start, stop…) would
        // get a root named like its own verb, which System.CommandLine rejects.
        Root = new Command("supctl", "supctl: control supd, the process supervisor") { Socket, JsonOutput.Option, new HelpOption(), new VersionOption() };
        Command[] verbs =
        [
            ListVerb.Create(), StatusVerb.Create(), StartVerb.Create(), StopVerb.Create(), RestartVerb.Create(), ReloadVerb.Create(),
            DisableVerb.Create(), EnableVerb.Create(), EmitVerb.Create(), UsageVerb.Create(), ShowConfigVerb.Create(),
            CheckConfigVerb.Create(), ReopenLogsVerb.Create(), DaemonReexecVerb.Create(), VersionVerb.Create(), AccessVerb.Create(), EventsVerb.Create(),
            ReloadConfigurationVerb.Create(), ShowVerb.Create(), LogVerb.Create(), IsRunningVerb.Create(), HelpVerb.Create(Root),
            CompletionVerb.Create(), TopVerb.Create(),
        ];
        foreach (var verb in verbs) Root.Subcommands.Add(verb);
    }

    public Command Root { get; }

    /// <summary>Parses the command line (as <see cref="Invocation.Rewrite"/> made it) and runs the verb; the exit status.</summary>
    public async Task<int> RunAsync(string[] args)
    {
        var parse = Root.Parse(args);
        if (parse.Errors.Count == 0) return await parse.InvokeAsync(CtlStreams.Configuration()).ConfigureAwait(false);
        var output = Output.Console(json: false);
        if (VerbSuggestion.UnknownVerb(parse, Root) is { } unknownVerb) output.Error(unknownVerb);
        else
        {
            foreach (var error in parse.Errors.SkipLast(1)) output.Error(error.Message);
            output.Usage(parse.Errors[^1].Message);
        }
        return ExitCodes.For(Outcome.Usage);
    }
}
