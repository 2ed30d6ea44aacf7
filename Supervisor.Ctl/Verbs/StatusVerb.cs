using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl status JOB [KEY=VALUE…]</c>: initctl's status line, then what did not go as the job file says.</summary>
internal static class StatusVerb
{
    public static Command Create()
    {
        var job = Arguments.Job();
        var env = Arguments.Env("KEY=VALUE pairs that select the instance");
        var command = new Command("status", "Print a job's status line") { job, env };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob(parse));
            return CommandRunner.RunAsync(parse, async (client, output) =>
            {
                var request = Arguments.StatusRequest(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                output.Reply(reply, () => StatusFormatter.StatusLines(reply.Status));
            });
        });
        return command;
    }
}
