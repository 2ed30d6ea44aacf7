using System.CommandLine;
using Grpc.Core;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl events [-f] [--job JOB] [-n N]</c>: events and state changes, one line each (<see cref="EventFormatter"/>).</summary>
internal static class EventsVerb
{
    public static Command Create()
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events and state changes as they happen" };
        var job = new Option<string?>("--job") { Description = "Only this job's events and state changes", HelpName = "JOB" };
        var lines = new Option<int?>("--lines", "-n") { Description = "How many recent items to print first (default: every retained one; with -f: 10)" };
        var command = new Command("events", "Print recent events and job state changes with timestamps; -f follows new ones") { follow, job, lines };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var following = parse.GetValue(follow);
            var request = new WatchEventsRequest
            {
                Job = parse.GetValue(job) ?? "",
                Follow = following,
                History = (uint)Math.Max(0, parse.GetValue(lines) ?? (following ? 10 : int.MaxValue)),
            };
            // --json: one object per line, in the event stream's own documented shape (seq, time, type, ...).
            // After a re-exec only what is new: the new image numbers its events afresh.
            var fresh = request.Clone();
            fresh.History = 0;
            await foreach (var item in FollowAcrossRestarts.ReadAsync(client, output, following,
                               again => client.WatchEvents(again ? fresh : request, cancellationToken: ct), ct).ConfigureAwait(false))
            {
                output.Reply(() => EventFormatter.Json(item), () => [EventFormatter.Text(item)]);
                await output.FlushAsync().ConfigureAwait(false);
            }
        }));
        return command;
    }
}
