using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Verbs;

/// <summary>The shape start, stop, restart and reload share: a job (the calling one inside a job), its variables, --no-wait.</summary>
internal static class JobControlVerb
{
    public delegate Task<JobControlReply> Call(ProtoClient client, JobControlRequest request, CancellationToken ct);

    /// <param name="printStatus">Print the job's status line after (start, stop, restart); with it comes --no-wait.</param>
    /// <param name="checks">The verb runs the job's check first (restart, reload); with it comes --no-check.</param>
    public static Command Create(string name, string description, Call call, bool printStatus, bool checks = false)
    {
        var job = Arguments.Job();
        var env = Arguments.Env("KEY=VALUE pairs: the job's variables (and its instance)");
        var noWait = new Option<bool>("--no-wait", "-n") { Description = "Return once the goal is changed" };
        var noCheck = new Option<bool>("--no-check") { Description = "Skip the job's check (restart or reload even if it would fail)" };
        var command = new Command(name, description) { job, env };
        if (printStatus) command.Options.Add(noWait);
        if (checks) command.Options.Add(noCheck);
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob(parse));
            return CommandRunner.RunAsync(parse, async (client, output) =>
            {
                // Acting on the calling job never waits: it would wait for itself.
                var request = new JobControlRequest
                {
                    Job = target.Job, NoWait = parse.GetValue(noWait) || target.FromEnvironment, NoCheck = parse.GetValue(noCheck),
                };
                if (target.Instance is not null) request.Instance = target.Instance;
                request.Env.AddRange(parse.GetValue(env) ?? []);
                var reply = await call(client, request, ct).ConfigureAwait(false);
                output.Reply(reply, () => printStatus && reply.Status is not null ? [StatusFormatter.StatusLine(reply.Status)] : []);
            });
        });
        return command;
    }

    /// <summary>disable / enable: the whole job (no variables, no instance), then its status line.</summary>
    public static Command WholeJob(string name, string description, Call call)
    {
        var job = new Argument<string>("job") { Description = "Job name (its path in the job dir without .conf)" };
        var command = new Command(name, description) { job };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var reply = await call(client, new JobControlRequest { Job = parse.GetValue(job)! }, ct).ConfigureAwait(false);
            output.Reply(reply, () => reply.Status is not null ? [StatusFormatter.StatusLine(reply.Status)] : []);
        }));
        return command;
    }
}
