using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary>
/// <c>supctl daemon-reexec</c> (systemctl's daemon-reexec, Upstart's <c>telinit u</c>): supd re-executes the binary at
/// its path with every job left running, and supctl waits until the new image answers, so a script's next command
/// already talks to it.
/// </summary>
internal static class DaemonReexecVerb
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(120);

    public static Command Create()
    {
        var command = new Command("daemon-reexec", "Re-execute supd from the binary now at its path (after an upgrade), every job left running; needs admin");
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var before = await client.VersionAsync(new VersionRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            DaemonReexecReply? reply = null;
            try
            {
                reply = await client.DaemonReexecAsync(new DaemonReexecRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal)
            {
                // The exec can overtake the reply's last bytes: the new image's answer below tells.
            }
            var target = reply?.Generation ?? before.Reexecs + 1;
            VersionReply after;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    after = await client.VersionAsync(new VersionRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                    if (after.Reexecs >= target) break;
                    if (after.ReexecFailures > before.ReexecFailures)
                    {
                        output.Error($"the re-exec failed: {after.LastReexecFailure}; supd goes on as it was");
                        return Outcome.Refused;
                    }
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal)
                {
                    // Between the exec and the new image's first answer.
                }
                if (clock.Elapsed > AnswerTimeout)
                {
                    output.Error($"supd did not answer as re-exec {target} within {AnswerTimeout.TotalSeconds:0}s");
                    return Outcome.StatusUnknown;
                }
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            var instances = reply?.Instances;
            var milliseconds = (long)clock.Elapsed.TotalMilliseconds;
            output.Reply(() => JsonOutput.Line(writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("pid", after.Pid);
                    writer.WriteNumber("reexecs", after.Reexecs);
                    if (instances is { } count) writer.WriteNumber("instances", count);
                    writer.WriteNumber("milliseconds", milliseconds);
                    writer.WriteString("supd", after.Version);
                    writer.WriteEndObject();
                }),
                () => [$"supd re-executed in {milliseconds} ms: pid {after.Pid}, {(instances is { } n ? $"{n} instances handed over, " : "")}re-exec {after.Reexecs} since it started ({after.Version})"]);
            return Outcome.Success;
        }));
        return command;
    }
}
