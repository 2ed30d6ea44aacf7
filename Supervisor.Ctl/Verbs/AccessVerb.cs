using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl access [USER]</c>: what a user may do (<see cref="AccessFormatter"/>).</summary>
internal static class AccessVerb
{
    public static Command Create()
    {
        var user = new Argument<string?>("user") { Description = "A user name or uid (default: you)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("access", "Print what a user may do: daemon-wide rights, per-job rights, and the rules granting them") { user };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await client.AccessAsync(new AccessRequest { User = parse.GetValue(user) ?? "" }, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            output.Reply(reply, () => AccessFormatter.Lines(reply));
        }));
        return command;
    }
}
