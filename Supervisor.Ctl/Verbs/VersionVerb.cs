using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl version</c>: supd's version line (from supd), then supctl's, how supd contains jobs, who keeps their
/// output pipes across a crash of supd, its fork server, and which exec helper it starts.</summary>
internal static class VersionVerb
{
    public static Command Create()
    {
        var command = new Command("version", "Print supd's and supctl's versions");
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await client.VersionAsync(new VersionRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            var supctl = $"supctl (supd {typeof(VersionVerb).Assembly.GetName().Version?.ToString(3)})";
            var containment = $"containment: {reply.Containment}";
            var keeper = $"pipe keeper: {reply.PipeKeeper}";
            var forkServer = $"fork server: {reply.ForkServer}";
            var helper = $"exec helper: {reply.ExecHelper}";
            output.Reply(() => JsonOutput.Document(("supd", reply.Version), ("supctl", supctl), ("containment", reply.Containment),
                    ("pipe_keeper", reply.PipeKeeper), ("fork_server", reply.ForkServer), ("exec_helper", reply.ExecHelper)),
                () => [reply.Version, supctl, containment, keeper, forkServer, helper]);
        }));
        return command;
    }
}
