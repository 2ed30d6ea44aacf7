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

    // The verbs by name, in help order; each is built given the root (only help uses it: it lists the others).
    private static readonly (string Name, Func<Command, Command> Create)[] Verbs =
    [
        ("list", _ => ListVerb.Create()), ("status", _ => StatusVerb.Create()), ("start", _ => StartVerb.Create()),
        ("stop", _ => StopVerb.Create()), ("restart", _ => RestartVerb.Create()), ("reload", _ => ReloadVerb.Create()),
        ("disable", _ => DisableVerb.Create()), ("enable", _ => EnableVerb.Create()), ("emit", _ => EmitVerb.Create()),
        ("usage", _ => UsageVerb.Create()), ("show-config", _ => ShowConfigVerb.Create()),
        ("check-config", _ => CheckConfigVerb.Create()), ("reopen-logs", _ => ReopenLogsVerb.Create()),
        ("daemon-reexec", _ => DaemonReexecVerb.Create()), ("version", _ => VersionVerb.Create()),
        ("access", _ => AccessVerb.Create()), ("events", _ => EventsVerb.Create()),
        ("reload-configuration", _ => ReloadConfigurationVerb.Create()), ("show", _ => ShowVerb.Create()),
        ("log", _ => LogVerb.Create()), ("is-running", _ => IsRunningVerb.Create()), ("help", HelpVerb.Create),
        ("completion", _ => CompletionVerb.Create()), ("top", _ => TopVerb.Create()),
    ];

    // Tokens that need the whole tree: help and version (their options' descriptions load System.CommandLine's
    // resources, a tenth of a short call), and a response file (@FILE), which may hold anything.
    private static readonly string[] WholeTreeTokens = ["-h", "--help", "-?", "/h", "/?", "--version"];

    // The shared options (--socket, --json) are added to each new root, and System.CommandLine's parent lists are not
    // made for two trees being built at once (the test suite runs supctl calls in-process, several at a time).
    private static readonly Lock Building = new();

    private CtlCommandLine(Command root, bool whole)
    {
        Root = root;
        _whole = whole;
    }

    private readonly bool _whole;

    public Command Root { get; }

    /// <summary>The tree <paramref name="args"/> need: the root and their one verb if that surely parses the same as the whole tree, else the whole.</summary>
    public static CtlCommandLine For(string[] args) => OneVerb(args) is { } create
        ? new CtlCommandLine(BuildRoot(root => [create(root)], help: false), whole: false)
        : Whole();

    /// <summary>Every verb, with --help and --version.</summary>
    public static CtlCommandLine Whole() => new(BuildRoot(root => [.. Verbs.Select(verb => verb.Create(root))], help: true), whole: true);

    private static Command BuildRoot(Func<Command, Command[]> verbs, bool help)
    {
        lock (Building)
        {
            // Not a RootCommand: that is named after argv[0], and a native supctl linked as `status` (or start, stop…)
            // would get a root named like its own verb, which System.CommandLine rejects.
            var root = new Command("supctl", "supctl: control supd, the process supervisor") { Socket, JsonOutput.Option };
            if (help)
            {
                root.Options.Add(new HelpOption());
                root.Options.Add(new VersionOption());
            }
            foreach (var verb in verbs(root)) root.Subcommands.Add(verb);
            return root;
        }
    }

    // The verb's builder when the arguments are the root's own options (--socket VALUE, --json), one known verb other
    // than help, and nothing that needs the whole tree; else null. A parse error with one verb parses again whole.
    private static Func<Command, Command>? OneVerb(string[] args)
    {
        foreach (var token in args)
        {
            // Looked for in every token, option values included: the whole tree reads them so too.
            if (token.StartsWith('@') || WholeTreeTokens.Contains(token)) return null;
            // A bundle of short options (-nh, -fq…) is split by the options the tree knows: with --help's -h and -? in
            // the whole tree only, the two trees could read it differently.
            if (token.Length > 2 && token[0] == '-' && token[1] != '-') return null;
        }
        for (var i = 0; i < args.Length; i++)
        {
            var token = args[i];
            if (token == Socket.Name) i++;
            else if (token == JsonOutput.Option.Name || token.StartsWith(Socket.Name + "=", StringComparison.Ordinal)
                     || token.StartsWith(Socket.Name + ":", StringComparison.Ordinal)) { }
            else if (token != "help" && Array.FindIndex(Verbs, v => v.Name == token) is var index and >= 0) return Verbs[index].Create;
            else return null;
        }
        return null;
    }

    /// <summary>Parses the command line (as <see cref="Invocation.Rewrite"/> made it) and runs the verb; the exit status.</summary>
    public async Task<int> RunAsync(string[] args)
    {
        var parse = Root.Parse(args);
        if (parse.Errors.Count == 0) return await parse.InvokeAsync(CtlStreams.Configuration()).ConfigureAwait(false);
        if (!_whole) return await Whole().RunAsync(args).ConfigureAwait(false);
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
