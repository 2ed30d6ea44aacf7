using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl show JOB</c>: a job in detail and its log's last lines (<see cref="ShowFormatter"/>).</summary>
internal static class ShowVerb
{
    private const int LogLines = 10;

    public static Command Create()
    {
        var job = Arguments.Job();
        var env = Arguments.Env("KEY=VALUE pairs that select the instance");
        var command = new Command("show", "Show a job in detail: state and since when, main process, last exit, failure, backoff, log and its last lines") { job, env };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob(parse));
            return CommandRunner.RunAsync(parse, async (client, output) =>
            {
                var request = Arguments.StatusRequest(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                var tail = new TailLogRequest { Job = target.Job, Lines = LogLines };
                tail.Env.AddRange(parse.GetValue(env) ?? []);
                var text = new MemoryStream();
                await foreach (var chunk in LogVerb.ReadTail(client, tail, ct).ConfigureAwait(false)) chunk.Data.WriteTo(text);
                var log = System.Text.Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
                output.Reply(
                    () => JsonOutput.Document("status", reply.Status, "logLines", ShowFormatter.LogLines(log).TakeLast(LogLines)),
                    () => ShowFormatter.Lines(reply.Status, log, LogLines, DateTimeOffset.Now));
            });
        });
        return command;
    }
}
