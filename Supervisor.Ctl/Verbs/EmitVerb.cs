using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl emit EVENT [KEY=VALUE…]</c>: prints nothing (with --json, the empty reply).</summary>
internal static class EmitVerb
{
    public static Command Create()
    {
        var name = new Argument<string>("event") { Description = "Event name" };
        var env = Arguments.Env("KEY=VALUE variables of the event");
        var noWait = new Option<bool>("--no-wait", "-n") { Description = "Return at once instead of waiting for the event to finish" };
        var command = new Command("emit", "Emit an event; wait until every job it started is running (tasks: finished)") { name, env, noWait };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var request = new EmitRequest { Event = parse.GetValue(name)!, NoWait = parse.GetValue(noWait) };
            request.Env.AddRange(parse.GetValue(env) ?? []);
            var reply = await client.EmitAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            output.Reply(reply);
        }));
        return command;
    }
}
