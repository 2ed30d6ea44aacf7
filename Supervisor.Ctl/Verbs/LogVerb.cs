using System.CommandLine;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl log JOB [-n N] [-f]</c>: the log's bytes as the job wrote them (--json: one object per line).</summary>
internal static class LogVerb
{
    public static Command Create()
    {
        var job = Arguments.Job();
        var env = Arguments.Env("KEY=VALUE pairs that select the instance");
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the last lines to print", DefaultValueFactory = _ => 10 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new output, across rotations, until Ctrl-C" };
        var command = new Command("log", "Print the last lines of a job's log; with -f, follow it") { job, env, lines, follow };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob(parse));
            return CommandRunner.RunAsync(parse, async (client, output) =>
            {
                var request = new TailLogRequest { Job = target.Job, Lines = parse.GetValue(lines), Follow = parse.GetValue(follow) };
                request.Env.AddRange(parse.GetValue(env) ?? []);
                if (output.Json)
                {
                    // One {"line": "..."} object per log line (a last line without its newline comes at the end).
                    var pending = new List<byte>();
                    await foreach (var chunk in Follow(client, output, request, ct).ConfigureAwait(false))
                    {
                        foreach (var b in chunk.Data.Span)
                        {
                            if (b != (byte)'\n') { pending.Add(b); continue; }
                            output.Line(JsonOutput.Document(("line", System.Text.Encoding.UTF8.GetString([.. pending]))));
                            pending.Clear();
                        }
                        await output.FlushAsync().ConfigureAwait(false);
                    }
                    if (pending.Count > 0) output.Line(JsonOutput.Document(("line", System.Text.Encoding.UTF8.GetString([.. pending]))));
                    return;
                }
                // Raw bytes, as the job wrote them; flushed per piece so a follower sees each line as it comes.
                // Ctrl-C cancels the stream; supctl then exits 130, as tail -f does.
                await using var stdout = Output.RawStdout();
                await foreach (var chunk in Follow(client, output, request, ct).ConfigureAwait(false))
                {
                    chunk.Data.WriteTo(stdout);
                    await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
            });
        });
        return command;
    }

    // A follower goes on across a re-exec, with only what is appended from then on.
    private static IAsyncEnumerable<TailLogReply> Follow(ProtoClient client, Output output, TailLogRequest request, CancellationToken ct)
    {
        var fresh = request.Clone();
        fresh.Lines = 0;
        return FollowAcrossRestarts.ReadAsync(client, output, request.Follow, again => client.TailLog(again ? fresh : request, cancellationToken: ct), ct);
    }

    public static async IAsyncEnumerable<TailLogReply> ReadTail(ProtoClient client, TailLogRequest request,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var call = client.TailLog(request, cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false)) yield return call.ResponseStream.Current;
    }
}
