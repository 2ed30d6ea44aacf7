extern alias ctl;
using Grpc.Core;
using NUnit.Framework;
using ctl::Supervisor.Ctl.Commands;

namespace Supervisor.Tests.Ctl;

/// <summary>supctl's verbs as the parser sees them, and the exit-status table (docs/supctl.md, "Exit status").</summary>
[TestFixture]
public sealed class CtlCommandLineTests
{
    private static readonly CtlCommandLine CommandLine = CtlCommandLine.Whole();

    [TestCase("list")]
    [TestCase("status", "web")]
    [TestCase("start", "web", "PORT=80", "--no-wait")]
    [TestCase("stop", "-n", "web")]
    [TestCase("restart", "web", "--no-check")]
    [TestCase("reload", "web", "--no-check")]
    [TestCase("disable", "web")]
    [TestCase("enable", "web")]
    [TestCase("emit", "deploy", "A=1", "-n")]
    [TestCase("usage", "web")]
    [TestCase("show-config", "-e")]
    [TestCase("check-config", "-i", "a,b", "-w")]
    [TestCase("reopen-logs")]
    [TestCase("daemon-reexec")]
    [TestCase("version")]
    [TestCase("access", "alice")]
    [TestCase("events", "-f", "--job", "web", "-n", "3")]
    [TestCase("top", "--once", "-d", "0.5")]
    [TestCase("reload-configuration")]
    [TestCase("show", "web")]
    [TestCase("log", "web", "-n", "5", "-f")]
    [TestCase("is-running", "-q", "web")]
    [TestCase("help", "start")]
    [TestCase("completion", "bash")]
    public void Each_verb_parses_its_documented_form(params string[] args)
    {
        var parse = CommandLine.Root.Parse([.. args, "--json", "--socket", "/tmp/x.sock"]);
        Assert.That(parse.Errors.Select(e => e.Message), Is.Empty);
        Assert.That(parse.CommandResult.Command.Name, Is.EqualTo(args[0]));
    }

    // A call builds only its own verb when nothing in it needs the others (CtlCommandLine.For): the same command, the
    // same values, no errors.
    [TestCase("status", "web")]
    [TestCase("--socket", "/tmp/x.sock", "--json", "list")]
    [TestCase("--socket=/tmp/x.sock", "start", "web", "PORT=80", "--no-wait")]
    [TestCase("log", "web", "-n", "5", "-f")]
    [TestCase("emit", "deploy", "A=/h", "-n")]
    public void A_call_with_one_verb_builds_that_verb_alone_and_parses_as_the_whole_tree_does(params string[] args)
    {
        var one = CtlCommandLine.For(args);
        Assert.That(one.Root.Subcommands.Select(c => c.Name), Is.EquivalentTo(new[] { args.First(a => !a.StartsWith('-') && a != "/tmp/x.sock") }));
        var alone = one.Root.Parse(args);
        var whole = CommandLine.Root.Parse(args);
        Assert.That(alone.Errors, Is.Empty);
        Assert.That(alone.CommandResult.Command.Name, Is.EqualTo(whole.CommandResult.Command.Name));
        Assert.That(alone.GetValue(CtlCommandLine.Socket), Is.EqualTo(whole.GetValue(CtlCommandLine.Socket)));
        Assert.That(string.Join(' ', alone.CommandResult.Tokens.Select(t => t.Value)), Is.EqualTo(string.Join(' ', whole.CommandResult.Tokens.Select(t => t.Value))));
    }

    // Help, version, a response file, the help verb, no verb or an unknown one: the whole tree.
    [TestCase("status", "--help")]
    [TestCase("-h")]
    [TestCase("log", "web", "-?")]
    [TestCase("--version")]
    [TestCase("@args.txt")]
    [TestCase("help", "start")]
    [TestCase("stauts", "web")]
    [TestCase("--json")]
    [TestCase("stop", "-nh")]                  // a bundle: -n -h in the whole tree
    [TestCase("log", "web", "-fh")]
    [TestCase("--socket", "@args.txt", "stop")]  // a response file as an option's value
    [TestCase]
    public void A_call_that_needs_more_than_its_verb_gets_the_whole_tree(params string[] args) =>
        Assert.That(CtlCommandLine.For(args).Root.Subcommands, Has.Count.EqualTo(24));

    [Test]
    public void Every_verb_has_its_own_command_and_a_description()
    {
        var names = CommandLine.Root.Subcommands.Select(c => c.Name).ToArray();
        Assert.That(names, Is.Unique);
        Assert.That(names, Has.Length.EqualTo(24));
        Assert.That(CommandLine.Root.Subcommands.Where(c => string.IsNullOrEmpty(c.Description)).Select(c => c.Name), Is.Empty);
    }

    [Test]
    public void Wait_and_check_options_belong_to_the_verbs_that_wait_and_check()
    {
        string[] Options(string verb) => CommandLine.Root.Subcommands.Single(c => c.Name == verb).Options.Select(o => o.Name).ToArray();
        Assert.That(Options("start"), Does.Contain("--no-wait").And.Not.Contain("--no-check"));
        Assert.That(Options("restart"), Does.Contain("--no-wait").And.Contain("--no-check"));
        Assert.That(Options("reload"), Does.Contain("--no-check").And.Not.Contain("--no-wait"), "reload does not wait");
        Assert.That(CommandLine.Root.Parse(["completion", "zsh"]).Errors, Is.Not.Empty);
    }

    [Test]
    public void A_mistyped_verb_gets_the_nearest_one_suggested()
    {
        var parse = CommandLine.Root.Parse(["strat", "web"]);
        Assert.That(VerbSuggestion.UnknownVerb(parse, CommandLine.Root), Is.EqualTo("unknown verb 'strat' (did you mean 'start'?)"));
        Assert.That(VerbSuggestion.Message("xyz", ["start", "stop"]), Is.EqualTo("unknown verb 'xyz'"));
    }

    [TestCase("Success", 0)]
    [TestCase("Refused", 1)]
    [TestCase("Usage", 2)]
    [TestCase("JobNotRunning", 3)]
    [TestCase("StatusUnknown", 4)]
    [TestCase("NoSuchJob", 4)]
    [TestCase("Unreachable", 69)]
    [TestCase("PermissionDenied", 77)]
    [TestCase("Interrupted", 130)]
    public void Each_outcome_has_its_documented_exit_status(string outcome, int status) =>
        Assert.That(ExitCodes.For(Enum.Parse<Outcome>(outcome)), Is.EqualTo(status));

    [Test]
    public void Every_outcome_is_in_the_table_and_docs_supctl_md_lists_each_status()
    {
        var doc = File.ReadAllText(Path.Combine(Support.Binaries.RepositoryRoot, "docs", "supctl.md"));
        foreach (var outcome in Enum.GetValues<Outcome>())
            Assert.That(doc, Does.Contain($"| {ExitCodes.For(outcome)} |"), $"{outcome} ({ExitCodes.For(outcome)})");
    }

    [TestCase(StatusCode.NotFound, "NoSuchJob")]
    [TestCase(StatusCode.PermissionDenied, "PermissionDenied")]
    [TestCase(StatusCode.Unavailable, "Unreachable")]
    [TestCase(StatusCode.Cancelled, "Interrupted")]
    [TestCase(StatusCode.FailedPrecondition, "Refused")]
    [TestCase(StatusCode.Aborted, "Refused")]
    [TestCase(StatusCode.InvalidArgument, "Refused")]
    [TestCase(StatusCode.ResourceExhausted, "Refused")]
    [TestCase(StatusCode.Unknown, "Refused")]
    public void Supds_status_codes_map_to_outcomes(StatusCode code, string outcome) =>
        Assert.That(ExitCodes.Of(code), Is.EqualTo(Enum.Parse<Outcome>(outcome)));

    [Test]
    public async Task Calls_made_in_process_at_once_each_get_their_own_output_and_status()
    {
        // The test suite's JIT flavour runs supctl this way, three fixtures at a time: no call may see another's lines.
        var calls = Enumerable.Range(0, 40).Select(i => i % 2 == 0
            ? CtlStreams.RunCapturedAsync(["help", "start"])
            : CtlStreams.RunCapturedAsync(["strat", "web"])).ToArray();
        var results = await Task.WhenAll(calls);
        Assert.That(CtlStreams.Out, Is.SameAs(Console.Out), "the caller writes to its own stdout again");

        for (var i = 0; i < results.Length; i++)
        {
            var (status, stdout, stderr) = results[i];
            if (i % 2 == 0)
            {
                Assert.That((status, stderr), Is.EqualTo((0, "")), $"call {i}");
                Assert.That(stdout, Does.Contain("Start a job").And.Not.Contain("unknown verb"), $"call {i}");
            }
            else
            {
                Assert.That((status, stdout), Is.EqualTo((ExitCodes.For(Outcome.Usage), "")), $"call {i}");
                Assert.That(stderr, Is.EqualTo("supctl: unknown verb 'strat' (did you mean 'start'?)\n"), $"call {i}");
            }
        }
    }
}
