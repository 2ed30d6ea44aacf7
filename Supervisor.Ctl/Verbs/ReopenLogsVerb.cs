using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl reopen-logs</c>: prints nothing (with --json, how many files).</summary>
internal static class ReopenLogsVerb
{
    public static Command Create()
    {
        var command = new Command("reopen-logs", "Reopen every job log file (after an external logrotate moved them); needs admin");
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await client.ReopenLogsAsync(new ReopenLogsRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            output.Reply(reply);
        }));
        return command;
    }
}
