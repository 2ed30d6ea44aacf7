using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl show-config [JOB] [-e]</c>: initctl's text, made by supd.</summary>
internal static class ShowConfigVerb
{
    public static Command Create()
    {
        var job = Arguments.OptionalJob();
        var enumerate = new Option<bool>("--enumerate", "-e") { Description = "One line per event of start on/stop on, with its job and variables" };
        var command = new Command("show-config", "Print each job's emits, start on and stop on (initctl's format)") { job, enumerate };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var request = new ShowConfigRequest { Job = parse.GetValue(job) ?? "", Enumerate = parse.GetValue(enumerate) };
            var reply = await client.ShowConfigAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (output.Json) output.Reply(reply);
            else output.Text(reply.Text);
        }));
        return command;
    }
}
