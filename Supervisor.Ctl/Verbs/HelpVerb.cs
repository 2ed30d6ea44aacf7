using System.CommandLine;
using Supervisor.Ctl.Commands;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl help VERB</c> is <c>supctl VERB --help</c>; <c>supctl help</c> lists the verbs.</summary>
internal static class HelpVerb
{
    public static Command Create(Command root)
    {
        var verb = new Argument<string?>("verb") { Description = "The verb to explain", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("help", "Print the help of a verb (or the list of verbs)") { verb };
        command.SetAction((parse, ct) =>
        {
            var name = parse.GetValue(verb);
            if (name is not null && root.Subcommands.All(c => c.Name != name))
            {
                CommandRunner.OutputFor(parse).Error(VerbSuggestion.Message(name, root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)));
                return Task.FromResult(ExitCodes.For(Outcome.Usage));
            }
            return root.Parse(name is null ? ["--help"] : [name, "--help"]).InvokeAsync(CtlStreams.Configuration(), ct);
        });
        return command;
    }
}
