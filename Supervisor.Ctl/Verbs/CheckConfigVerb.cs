using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl check-config [JOB] [-i EVENTS] [-w]</c>: initctl's report, made by supd; refused (1) when it found a problem.</summary>
internal static class CheckConfigVerb
{
    public static Command Create()
    {
        var job = Arguments.OptionalJob();
        var ignore = new Option<string[]>("--ignore-events", "-i")
        {
            Description = "Comma-separated events to treat as emitted (ev1,ev2); may be repeated",
            HelpName = "EVENTS",
        };
        var warn = new Option<bool>("--warn", "-w") { Description = "Also report an unreachable side of an 'or'" };
        var command = new Command("check-config", "Report start on/stop on events nothing emits and jobs that do not exist; exit 1 if any")
        {
            job, ignore, warn,
        };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var request = new CheckConfigRequest { Job = parse.GetValue(job) ?? "", Warn = parse.GetValue(warn) };
            request.IgnoreEvents.AddRange((parse.GetValue(ignore) ?? []).SelectMany(list => list.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            var reply = await client.CheckConfigAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (output.Json) output.Reply(reply);
            else output.Text(reply.Text);
            return reply.Problems.Count == 0 ? Outcome.Success : Outcome.Refused;
        }));
        return command;
    }
}
