using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary>LSB-style, for scripts: exit 0 when the job runs, 3 when it does not, 4 when that cannot be told.</summary>
internal static class IsRunningVerb
{
    public static Command Create()
    {
        var job = Arguments.Job();
        var env = Arguments.Env("KEY=VALUE pairs that select the instance");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing; only the exit status tells" };
        var command = new Command("is-running", "Exit 0 if a job is running, 3 if it is not, 4 if unknown (no such job, supd unreachable)")
        {
            job, env, quiet,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return CommandRunner.MissingJob(parse);
            var outcome = await CommandRunner.CallAsync(parse, async (client, output) =>
            {
                var request = Arguments.StatusRequest(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                output.Reply(reply, () => parse.GetValue(quiet) ? [] : [StatusFormatter.StatusLine(reply.Status)]);
                return reply.Status.Goal == Goal.Start && reply.Status.State == State.Running ? Outcome.Success : Outcome.JobNotRunning;
            }).ConfigureAwait(false);
            // Whatever kept the answer from coming (no such job, supd unreachable, refused) is "unknown" here.
            return ExitCodes.For(outcome is Outcome.Success or Outcome.JobNotRunning ? outcome : Outcome.StatusUnknown);
        });
        return command;
    }
}
