using System.CommandLine;
using Supervisor.Ctl.Commands;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl completion bash [NAME…]</c>: the completion script, bound to this supctl binary (<see cref="CompletionScript"/>).</summary>
internal static class CompletionVerb
{
    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "The shell: bash" };
        shell.AcceptOnlyFromAmong("bash");
        var names = new Argument<string[]>("name")
        {
            Description = "More command names to complete as supctl (your aliases of it)",
            Arity = ArgumentArity.ZeroOrMore,
            DefaultValueFactory = static _ => [],
        };
        var command = new Command("completion", "Print a bash completion script for this supctl: source <(supctl completion bash)") { shell, names };
        command.SetAction(parse =>
        {
            CommandRunner.OutputFor(parse).Text(CompletionScript.Bash(Environment.ProcessPath ?? "supctl", parse.GetValue(names) ?? []));
            return ExitCodes.For(Outcome.Success);
        });
        return command;
    }
}
