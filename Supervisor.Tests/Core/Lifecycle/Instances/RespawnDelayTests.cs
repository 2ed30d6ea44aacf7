using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// <c>respawn delay MIN [MAX]</c> on the loop with the fake clock: the delay doubles (plus at most 20% jitter) up to
/// MAX, goes back to MIN after a run of MAX seconds, and start cuts it short.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class RespawnDelayTests
{
    private static readonly ExitStatus Failure = ExitStatus.Exited(1);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    [Test]
    public async Task The_first_respawn_waits_MIN_seconds_in_respawning()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn delay 2 16\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", Failure);

        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That(status.State, Is.EqualTo(JobState.Respawning));
        Assert.That(status.NextRespawn, Is.InRange(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.4)));
        Assert.That(status.StatusLine(), Does.Match(@"^svc start/respawning, next in 2\.[0-4]s$"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.9));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(1), "not before MIN");
        Assert.That((await h.Loop.StatusAsync("svc", [])).StatusLine(), Does.Match(@"^svc start/respawning, next in 0\.[1-5]s$"));

        await h.AdvanceAsync(TimeSpan.FromSeconds(0.5));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running, process "));
    }

    [Test]
    public async Task Each_delay_doubles_up_to_MAX()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit unlimited\nrespawn delay 1 8\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        var delays = new List<double>();
        for (var crash = 0; crash < 6; crash++) delays.Add(await CrashAndTimeRespawnAsync(h));

        double[] expected = [1, 2, 4, 8, 8, 8];
        for (var i = 0; i < expected.Length; i++)
        {
            // Never early; late by at most the jitter (20%), never past MAX; one clock step of slack.
            Assert.That(delays[i], Is.InRange(expected[i], Math.Min(8, expected[i] * 1.2) + Step.TotalSeconds), $"delay {i}: {string.Join(", ", delays)}");
        }
    }

    [Test]
    public async Task A_run_as_long_as_MAX_resets_the_delay_to_MIN()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit unlimited\nrespawn delay 1 8\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);
        for (var crash = 0; crash < 3; crash++) await CrashAndTimeRespawnAsync(h);
        Assert.That(await CrashAndTimeRespawnAsync(h), Is.GreaterThanOrEqualTo(8), "grown to MAX");

        // A short run does not reset it…
        await h.AdvanceAsync(TimeSpan.FromSeconds(7));
        Assert.That(await CrashAndTimeRespawnAsync(h), Is.GreaterThanOrEqualTo(8));
        // …a run of MAX seconds does.
        await h.AdvanceAsync(TimeSpan.FromSeconds(8));
        Assert.That(await CrashAndTimeRespawnAsync(h), Is.InRange(1, 1.2 + Step.TotalSeconds));
        Assert.That(await CrashAndTimeRespawnAsync(h), Is.InRange(2, 2.4 + Step.TotalSeconds));
    }

    [Test]
    public async Task Start_cuts_the_wait_short()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn delay 30 60\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);
        await h.ExitAsync("svc", "main", Failure);
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/respawning, next in "));

        var status = await h.Loop.StartAsync("svc", []).Within();

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
        Assert.That(status!.StatusLine(), Is.EqualTo($"svc start/running, process {h.Processes.PidOf("svc", "main")}"));
        // The cancelled timer does not start it a second time.
        await h.AdvanceAsync(TimeSpan.FromSeconds(100));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Restart_while_respawning_starts_it_now()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn delay 30\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);
        await h.ExitAsync("svc", "main", Failure);

        var status = await h.Loop.RestartAsync("svc", []).Within();

        Assert.That(status!.StatusLine(), Is.EqualTo($"svc start/running, process {h.Processes.PidOf("svc", "main")}"));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Stop_while_respawning_stops_the_job_there()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn delay 30\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);
        await h.ExitAsync("svc", "main", Failure);

        var status = await h.Loop.StopAsync("svc", []).Within();

        Assert.That(status!.StatusLine(), Is.EqualTo("svc stop/waiting"));
        Assert.That(h.Events.Last(), Is.EqualTo("stopped JOB=svc INSTANCE= RESULT=ok"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(100));
        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(1), "the timer was cancelled");
    }

    [Test]
    public async Task The_daemon_wide_default_applies_to_jobs_without_a_delay_and_a_job_stanza_wins()
    {
        await using var h = await LoopHarness.CreateAsync(o => o.RespawnDelay = new RespawnDelay(5, 5),
            ("plain", "respawn\nexec /bin/false\n"), ("own", "respawn\nrespawn delay 1\nexec /bin/false\n"));
        await h.Loop.StartAsync("plain", []);
        await h.Loop.StartAsync("own", []);

        await h.ExitAsync("plain", "main", Failure);
        await h.ExitAsync("own", "main", Failure);

        Assert.That((await h.Loop.StatusAsync("plain", [])).NextRespawn, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That((await h.Loop.StatusAsync("own", [])).NextRespawn, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public async Task Without_a_delay_the_respawn_is_immediate()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        await h.ExitAsync("svc", "main", Failure);

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(2));
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));
    }

    [Test]
    public async Task The_respawn_limit_still_counts_with_a_delay()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nrespawn limit 2 60\nrespawn delay 1 1\nexec /bin/false\n"));
        await h.Loop.StartAsync("svc", []);

        await CrashAndTimeRespawnAsync(h);
        await CrashAndTimeRespawnAsync(h);
        await h.ExitAsync("svc", "main", Failure);

        Assert.That(h.Processes.Spawns, Has.Count.EqualTo(3));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc stop/waiting (failed: respawning too fast, more than 2 times in 60s)"));
    }

    /// <summary>Crashes the main process and steps the clock until it is spawned again; returns the seconds that took.</summary>
    private static async Task<double> CrashAndTimeRespawnAsync(LoopHarness h)
    {
        var spawns = h.Processes.Spawns.Count;
        await h.ExitAsync("svc", "main", Failure);
        var waited = TimeSpan.Zero;
        while (h.Processes.Spawns.Count == spawns)
        {
            if (waited > TimeSpan.FromMinutes(10)) Assert.Fail("no respawn within 10 minutes");
            await h.AdvanceAsync(Step);
            waited += Step;
        }
        return waited.TotalSeconds;
    }
}
