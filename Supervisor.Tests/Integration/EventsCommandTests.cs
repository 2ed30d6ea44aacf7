using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>supctl events: the history, -f following a full start/stop trace, --job, --json, and a watcher that never reads.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class EventsCommandTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private const string Service = """
        respawn
        exec sleep 300
        """;

    [Test]
    public async Task Events_follow_sees_a_full_start_and_stop_trace_in_order()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", Service);
        await supd.StartAsync();
        using var watcher = Watch(supd, "events", "-f", "--job", "svc");
        // An event that names svc passes the filter: once the watcher prints one, it is subscribed.
        await Eventually.GetAsync(async () =>
        {
            await supd.CtlAsync("emit", "ping", "JOB=svc");
            return watcher.Lines.Any(l => l.EndsWith("event ping JOB=svc", StringComparison.Ordinal));
        }, seen => seen, "the watcher to print a ping");

        Assert.That((await supd.CtlAsync("start", "svc")).ExitCode, Is.EqualTo(0));
        Assert.That((await supd.CtlAsync("stop", "svc")).ExitCode, Is.EqualTo(0));

        string[] expected =
        [
            "state svc start/starting (from waiting)",
            "event starting JOB=svc INSTANCE=",
            "state svc start/security (from starting)",
            "state svc start/pre-start (from security)",
            "state svc start/spawned (from pre-start)",
            "state svc start/post-start (from spawned)",
            "state svc start/running (from post-start)",
            "event started JOB=svc INSTANCE=",
            "state svc stop/pre-stop (from running)",
            "state svc stop/stopping (from pre-stop)",
            "event stopping JOB=svc INSTANCE= RESULT=ok",
            "state svc stop/killed (from stopping)",
            "state svc stop/post-stop (from killed)",
            "state svc stop/waiting (from post-stop)",
            "event stopped JOB=svc INSTANCE= RESULT=ok",
        ];
        await Eventually.TrueAsync(() => watcher.Lines.Any(l => l.EndsWith("event stopped JOB=svc INSTANCE= RESULT=ok", StringComparison.Ordinal)), "the stopped event");
        var lines = watcher.Lines.ToArray();
        // Each line: an ISO timestamp, then the item.
        Assert.That(lines, Has.All.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (state|event) "));
        var items = lines.Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToList();
        var positions = expected.Select(e => items.IndexOf(e)).ToArray();
        Assert.That(positions, Has.All.GreaterThanOrEqualTo(0), string.Join("\n", items));
        Assert.That(positions, Is.Ordered, string.Join("\n", items));
        Assert.That(items, Has.None.Contains("startup"), "--job svc keeps only svc's items");
        Assert.That(watcher.Process.HasExited, Is.False, "-f keeps following");
    }

    [Test]
    public async Task A_follower_does_not_hold_up_supds_shutdown_and_its_stream_ends()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", "start on startup\nexec sleep 300\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("svc", "start/running");
        using var watcher = Watch(supd, "events", "-f");
        await Eventually.TrueAsync(() => watcher.Lines.Any(l => l.Contains("event runlevel", StringComparison.Ordinal)), "the follower's first lines (the last 10 kept)");

        Assert.That(await supd.TerminateAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(0));

        await watcher.Process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.That(watcher.Process.ExitCode, Is.EqualTo(0));
    }

    [Test]
    public async Task Events_without_follow_prints_the_retained_history_as_json_and_exits()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", Service);
        await supd.StartAsync();
        await supd.CtlAsync("start", "svc");
        await supd.CtlAsync("stop", "svc");
        await supd.CtlAsync("emit", "hello", "WHO=world", "EMPTY=");

        var result = await supd.CtlAsync("events", "--json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var items = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(items[0].GetProperty("type").GetString(), Is.EqualTo("event"));
        Assert.That(items[0].GetProperty("name").GetString(), Is.EqualTo("startup"), "history starts with supd's first event");
        var sequences = items.Select(i => i.GetProperty("seq").GetInt64()).ToArray();
        Assert.That(sequences, Is.Ordered.And.Unique);
        Assert.That(items, Has.All.Matches<JsonElement>(i => DateTimeOffset.TryParse(i.GetProperty("time").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _)));
        var running = items.Single(i => i.GetProperty("type").GetString() == "state" && i.GetProperty("to").GetString() == "running");
        Assert.That(running.GetProperty("job").GetString(), Is.EqualTo("svc"));
        Assert.That(running.GetProperty("goal").GetString(), Is.EqualTo("start"));
        Assert.That(running.GetProperty("from").GetString(), Is.EqualTo("post-start"));
        Assert.That(running.GetProperty("instance").GetString(), Is.EqualTo(""));
        var hello = items.Single(i => i.GetProperty("type").GetString() == "event" && i.GetProperty("name").GetString() == "hello");
        Assert.That(hello.GetProperty("env").GetProperty("WHO").GetString(), Is.EqualTo("world"));
        Assert.That(hello.GetProperty("env").GetProperty("EMPTY").GetString(), Is.EqualTo(""));

        var unknown = await supd.CtlAsync("events", "--job", "nosuch");
        Assert.That(unknown.ExitCode, Is.EqualTo(4));
        Assert.That(unknown.Stderr, Is.EqualTo("supctl: Unknown job: nosuch\n"));
    }

    [Test]
    public async Task A_watcher_that_never_reads_does_not_stall_supd_and_is_told_what_it_missed()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("svc", Service);
        supd.StartSupdWith(
            ["--job-dir", supd.JobDir, "--socket", supd.Socket, "--log-dir", supd.LogDir, "--state-dir", supd.StateDir],
            new Dictionary<string, string> { ["SUPD_EventQueueSize"] = "8" });
        await supd.WaitForAnswerAsync();

        // supctl's stdout is a pipe nobody reads: once it is full supctl blocks, stops reading its stream, and
        // HTTP/2 flow control stops supd's writer. Only that watcher's bounded queue may fill.
        using var stalled = StartCtl(supd, "events", "-f");
        var first = await stalled.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(first, Does.Contain("event startup"));

        // The burst goes through a gRPC client in the test, not 60 supctl runs: what is under test is the stalled
        // watcher's queue (a real supctl), and 60 JIT supctl starts cost the suite ~10 s of CPU.
        var pad = new string('x', 64 * 1024);
        using (var client = new RawClient(supd.Socket))
        {
            for (var i = 0; i < 60; i++)
                await client.Client.EmitAsync(new Supervisor.Protocol.EmitRequest { Event = "big", Env = { $"N={i}", $"PAD={pad}" }, NoWait = true });
        }
        // supd kept working for everyone else while the watcher was stuck.
        Assert.That((await supd.CtlAsync("start", "svc")).Stdout, Does.StartWith("svc start/running"));

        // Now read: the queue drains, and the missed items are reported as a "dropped" line where the gap is,
        // before the next item that fits (an event emitted once the watcher reads again).
        var lines = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (await stalled.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (lines) lines.Add(line);
            }
        });
        await Eventually.GetAsync(async () =>
        {
            await supd.CtlAsync("emit", "after");
            lock (lines) return lines.Any(l => l.EndsWith(" event after", StringComparison.Ordinal));
        }, seen => seen, "the watcher to print the event emitted after the burst");
        stalled.Kill();
        await reader.WaitAsync(TimeSpan.FromSeconds(60));
        var dropped = lines.FindIndex(l => l.Contains(" dropped ", StringComparison.Ordinal));
        Assert.That(dropped, Is.GreaterThan(0), string.Join("\n", lines.Select(l => l.Length > 120 ? l[..120] : l)));
        var count = lines.Where(l => l.Contains(" dropped ", StringComparison.Ordinal))
            .Sum(l => long.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(count, Is.GreaterThan(0));
        // Bounded: what reached the watcher plus what it was told it missed is everything that happened (40 big events
        // alone could not fit the queue of 8), and some of it was missed.
        Assert.That(lines.Count(l => l.Contains(" event big ", StringComparison.Ordinal)) + count, Is.GreaterThanOrEqualTo(60));
        Assert.That(lines.Count(l => l.Contains(" event big ", StringComparison.Ordinal)), Is.LessThan(60));
        // When the watcher goes, supd logs what it missed.
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("events: a watcher fell behind and missed", StringComparison.Ordinal), "the drop in supd's log");
    }

    private static Process StartCtl(SupdHarness supd, params string[] args)
    {
        var info = new ProcessStartInfo(Binaries.Supctl) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { "--socket", supd.Socket }.Concat(args)) info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    private static CtlWatcher Watch(SupdHarness supd, params string[] args) => CtlWatcher.Start(supd, args);
}
