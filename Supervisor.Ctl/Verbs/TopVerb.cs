using System.CommandLine;
using System.Diagnostics;
using Supervisor.Ctl.Commands;
using Supervisor.Ctl.Formatting;
using Supervisor.Core.Lifecycle;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Verbs;

/// <summary>
/// <c>supctl top [--once] [--interval S]</c>: every job's CPU %, memory, tasks, restarts and uptime, refreshed in place
/// every interval until interrupted; <c>--once</c> prints one table (two samples one interval apart, for CPU %);
/// <c>--json</c> writes one document per sample. Figures come from List with resources (each job's cgroup, else its processes).
/// </summary>
internal static class TopVerb
{
    public static Command Create()
    {
        var once = new Option<bool>("--once") { Description = "Print one table and exit (CPU % over one interval)" };
        var interval = new Option<double>("--interval", "-d") { Description = "Seconds between samples (default 2; 1 with --once)", HelpName = "SECONDS" };
        var command = new Command("top", "Every job's CPU %, memory, tasks, restarts and uptime, refreshed until interrupted") { once, interval };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(parse, async (client, output) =>
        {
            var single = parse.GetValue(once);
            var seconds = parse.GetValue(interval) is > 0 and var s ? s : single ? 1 : 2;
            var wait = TimeSpan.FromSeconds(Math.Min(seconds, 3600));
            var previous = await SampleAsync(client, ct).ConfigureAwait(false);
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
                var current = await SampleAsync(client, ct).ConfigureAwait(false);
                var rows = Rows(previous, current);
                if (!single && !output.Json) output.Text("\u001b[H\u001b[2J");
                output.Reply(() => Json(rows), () => ResourcesFormatter.Table(rows));
                await output.FlushAsync().ConfigureAwait(false);
                if (single) return;
                previous = current;
            }
        }));
        return command;
    }

    private sealed record Sample(ListReply Reply, long Timestamp);

    private static async Task<Sample> SampleAsync(Supervisor.Protocol.Supervisor.SupervisorClient client, CancellationToken ct)
    {
        var reply = await client.ListAsync(new ListRequest { Resources = true }, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
        return new Sample(reply, Stopwatch.GetTimestamp());
    }

    private static string Key(JobStatus job) => StatusLineFormat.DisplayName(job.Job, job.Instance);

    private static List<ResourcesFormatter.TopRow> Rows(Sample before, Sample after)
    {
        var wallUsec = Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalMicroseconds;
        var earlier = before.Reply.Jobs.ToDictionary(j => (Key(j), MainPid(j)), j => j.Resources);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return after.Reply.Jobs.Select(job =>
        {
            double? cpu = null;
            // The same main process in both samples: CPU % over the interval (100 % = one core).
            if (job.Resources is { } r && earlier.GetValueOrDefault((Key(job), MainPid(job))) is { } e && wallUsec > 0)
                cpu = Math.Max(0, r.CpuUsec - e.CpuUsec) * 100.0 / wallUsec;
            TimeSpan? uptime = job.MainStartedUnixMs > 0 ? TimeSpan.FromMilliseconds(Math.Max(0, now - job.MainStartedUnixMs)) : null;
            return new ResourcesFormatter.TopRow(Key(job), $"{job.Goal.Name()}/{job.State.Name()}", MainPid(job), cpu, job.Resources,
                job.RespawnCount, uptime);
        }).ToList();
    }

    private static int MainPid(JobStatus job) => job.Processes.FirstOrDefault(p => p.Kind == ProcessKind.Main)?.Pid ?? 0;

    private static string Json(List<ResourcesFormatter.TopRow> rows) => JsonOutput.Line(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartArray("jobs");
        foreach (var row in rows)
        {
            writer.WriteStartObject();
            writer.WriteString("job", row.Name);
            writer.WriteString("state", row.State);
            writer.WriteNumber("pid", row.Pid);
            if (row.CpuPercent is { } cpu) writer.WriteNumber("cpuPercent", Math.Round(cpu, 1));
            if (row.Resources is { } r)
            {
                writer.WriteNumber("tasks", r.Tasks);
                writer.WriteNumber("memoryBytes", r.MemoryBytes);
                writer.WriteNumber("memoryPeakBytes", r.MemoryPeakBytes);
                writer.WriteNumber("cpuUsec", r.CpuUsec);
                if (r.HasIo)
                {
                    writer.WriteNumber("ioReadBytes", r.IoReadBytes);
                    writer.WriteNumber("ioWriteBytes", r.IoWriteBytes);
                }
                writer.WriteString("source", r.Source);
            }
            writer.WriteNumber("restarts", row.Restarts);
            if (row.Uptime is { } up) writer.WriteNumber("uptimeSeconds", (long)up.TotalSeconds);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    });
}
