using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl reload-configuration</c>: what changed on stdout, rejected files on stderr; refused (1) if any was.</summary>
internal static class ReloadConfigurationVerb
{
    public static Command Create()
    {
        var command = new Command("reload-configuration", "Re-read the job directories: new jobs appear, removed ones stop, changed ones apply at their next start; needs admin");
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await client.ReloadConfigurationAsync(new ReloadConfigurationRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            output.Reply(reply, () => ReloadFormatter.Lines(reply));
            if (!output.Json)
            {
                foreach (var error in reply.Errors) output.ErrorLine(error);
            }
            return reply.Errors.Count == 0 ? Outcome.Success : Outcome.Refused;
        }));
        return command;
    }
}
