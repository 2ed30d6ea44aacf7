using System.CommandLine;
using Grpc.Core;
using Supervisor.Ctl.Commands;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl usage JOB</c>: the job's usage stanza, from its List entry.</summary>
internal static class UsageVerb
{
    public static Command Create()
    {
        var job = new Argument<string>("job") { Description = "Job name" };
        var command = new Command("usage", "Print a job's usage stanza (the variables its start takes)") { job };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var name = parse.GetValue(job)!;
            var reply = await client.ListAsync(new ListRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            var status = reply.Jobs.FirstOrDefault(j => j.Job == name)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"Unknown job: {name}"));
            output.Reply(status, () => [Text(name, status.Usage)]);
        }));
        return command;
    }

    // initctl printed a bare "Usage: " for a job without the stanza; say what it means instead.
    public static string Text(string job, string usage) =>
        usage.Length > 0 ? $"Usage: {usage}" : $"{job} has no usage stanza: its job file does not say which variables its start takes";
}
