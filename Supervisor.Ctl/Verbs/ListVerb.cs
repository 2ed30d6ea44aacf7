using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl list</c>: one status line per job (per instance for instance jobs).</summary>
internal static class ListVerb
{
    public static Command Create()
    {
        var command = new Command("list", "One status line per job (per instance for instance jobs)");
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await client.ListAsync(new ListRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            output.Reply(reply, () => reply.Jobs.Select(StatusFormatter.StatusLine));
        }));
        return command;
    }
}
