using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The loop's side of persisted goals, reload-configuration and the event monitor, with fakes.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class GoalsAndReloadTests
{
    private sealed class RecordingStore : IGoalStore
    {
        private readonly List<GoalState> _saved = [];
        public void Save(GoalState state) { lock (_saved) _saved.Add(state); }
        public GoalState Last { get { lock (_saved) return _saved.Count == 0 ? GoalState.Empty : _saved[^1]; } }

        /// <summary>
        /// The goals as last handed over, once <paramref name="done"/> holds. The loop hands them over at the end of an
        /// input's turn, after it has answered (and later still during a burst), so a test waits for them.
        /// </summary>
        public Task<GoalState> SavedAsync(Func<GoalState, bool> done) =>
            Support.Eventually.GetAsync(() => Task.FromResult(Last), done, "the goals to be handed to the store");
    }

    [Test]
    public async Task A_stop_by_hand_is_recorded_but_the_next_event_starts_the_job_again_and_supersedes_it()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "start on go\nexec /bin/sleep 100\n"));
        var store = new RecordingStore();
        await h.Loop.RestoreGoalsAsync(GoalState.Empty, store, "boot");
        await h.Loop.EmitAsync("go", []);
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));

        var stop = h.Loop.StopAsync("svc", [], by: "alice (uid 1000)");
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();
        var held = await store.SavedAsync(g => g.StoppedByHand.Count == 1);
        Assert.That(held.StoppedByHand, Is.EqualTo(new[] { new InstanceGoal("svc", "", []) }).Using<InstanceGoal>(SameGoal));
        Assert.That(held.StoppedByHand[0].By, Is.EqualTo("alice (uid 1000)"));
        Assert.That((await h.Loop.StatusAsync("svc", [])).StopReason, Is.EqualTo("by hand, by alice (uid 1000)"));

        // Upstart's rule: a stop by hand is no ban; the next event that satisfies start on starts the job.
        await h.Loop.EmitAsync("go", []);

        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));
        await store.SavedAsync(g => g.StoppedByHand.Count == 0);
    }

    [Test]
    public async Task A_disabled_job_is_started_by_no_event_but_by_an_explicit_start_and_enable_lets_events_start_it()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "start on go and later\nexec /bin/sleep 100\n"));
        var store = new RecordingStore();
        await h.Loop.RestoreGoalsAsync(GoalState.Empty, store, "boot");
        await h.Loop.EmitAsync("go", [], wait: false); // half-satisfies the condition, which latches go

        var disabled = await h.Loop.DisableAsync("svc", "alice (uid 1000)").Within();
        await h.Loop.EmitAsync("later", []).Within();

        Assert.That(disabled.StatusLine(), Is.EqualTo("svc stop/waiting (disabled)"));
        Assert.That(disabled.Disabled!.By, Is.EqualTo("alice (uid 1000)"));
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc stop/waiting (disabled)"));
        Assert.That((await store.SavedAsync(g => g.Disabled.Count == 1)).Disabled.Single().Job, Is.EqualTo("svc"));
        var again = await h.Loop.DisableAsync("svc", "bob (uid 1001)").Within();
        Assert.That(again.Disabled!.By, Is.EqualTo("alice (uid 1000)"), "a second disable keeps the first one's author");

        await h.Loop.StartAsync("svc", []).Within();
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running").And.EndWith("(disabled)"));
        var stop = h.Loop.StopAsync("svc", []);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();

        await h.Loop.EnableAsync("svc", "alice (uid 1000)").Within();
        await h.Loop.EmitAsync("later", [], wait: false); // go was let go at disable: later alone does not start it
        Assert.That(await h.StatusAsync("svc"), Is.EqualTo("svc stop/waiting"));
        await h.Loop.EmitAsync("go", []).Within();
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));
        await store.SavedAsync(g => g.Disabled.Count == 0);
    }

    [Test]
    public async Task Restart_runs_with_exactly_the_variables_it_is_given()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 100\n"));
        await h.Loop.StartAsync("svc", ["COLOR=blue", "SIZE=2"]).Within();

        var restart = h.Loop.RestartAsync("svc", ["COLOR=red"]);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await restart.Within();
        var withRed = h.Processes.Spawns[^1].Request.Environment;

        restart = h.Loop.RestartAsync("svc", []);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await restart.Within();
        var withNone = h.Processes.Spawns[^1].Request.Environment;

        Assert.That(withRed, Does.Contain("COLOR=red").And.No.Contain("SIZE=2"));
        Assert.That(withNone.Where(v => v.StartsWith("COLOR=", StringComparison.Ordinal) || v.StartsWith("SIZE=", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task A_job_stopping_itself_from_inside_is_not_held()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "start on go\nexec /bin/sleep 100\n"));
        await h.Loop.RestoreGoalsAsync(GoalState.Empty, new RecordingStore(), "boot");
        await h.Loop.EmitAsync("go", []);

        var stop = h.Loop.StopAsync("svc", [], wait: false, instance: ""); // initctl stop inside the job
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();
        await h.Loop.EmitAsync("go", []);

        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/running"));
    }

    [Test]
    public async Task Restored_goals_hold_stopped_instances_and_start_the_ones_started_by_hand_with_their_variables()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("held", "start on startup\nexec /bin/sleep 100\n"),
            ("worker", "instance $QUEUE\nexec /bin/sleep 100\n"));
        var saved = new GoalState
        {
            StoppedByHand = [new InstanceGoal("held", "", [])],
            StartedByHand = [new InstanceGoal("worker", "mail", ["QUEUE=mail", "SPEED=2"]), new InstanceGoal("gone", "", [])],
        };
        var store = new RecordingStore();

        await h.Loop.RestoreGoalsAsync(saved, store, "boot");
        await h.Loop.EmitBootEventsAsync([("startup", [])]);

        Assert.That(await h.StatusAsync("held"), Is.EqualTo("held stop/waiting"));
        Assert.That((await h.Loop.StatusAsync("held", [])).StopReason, Does.StartWith("by hand, by an operator").And.EndWith("before supd restarted"));
        Assert.That(await h.StatusAsync("worker", "QUEUE=mail"), Does.StartWith("worker (mail) start/running"));
        Assert.That(h.Processes.Spawns.Single().Request.Environment, Does.Contain("SPEED=2"));
        var goals = await store.SavedAsync(g => g.StartedByHand.Count == 1);
        Assert.That(goals.StartedByHand.Select(g => g.Job), Is.EqualTo(new[] { "worker" }), "a job that no longer exists is forgotten");

        // Only the boot events pass it by: the same event emitted later starts it.
        await h.Loop.EmitAsync("startup", []);
        Assert.That(await h.StatusAsync("held"), Does.StartWith("held start/running"));
    }

    [Test]
    public async Task The_boot_passes_a_restored_stop_by_hand_also_through_the_job_events_of_what_boot_started()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("base", "start on filesystem\nexec /bin/sleep 100\n"),
            ("held", "start on started base or foo\nexec /bin/sleep 100\n"));
        var saved = new GoalState { StoppedByHand = [new InstanceGoal("held", "", []) { By = "alice (uid 1000)" }] };
        await h.Loop.RestoreGoalsAsync(saved, new RecordingStore(), "boot");

        await h.Loop.EmitBootEventsAsync([("startup", []), ("filesystem", [])]);
        await h.SettleAsync();

        Assert.That(await h.StatusAsync("base"), Does.StartWith("base start/running"));
        Assert.That(await h.StatusAsync("held"), Is.EqualTo("held stop/waiting"));
        Assert.That((await h.Loop.StatusAsync("held", [])).StopReason, Does.StartWith("by hand, by alice (uid 1000)").And.EndWith("before supd restarted"));
        await h.Loop.EmitAsync("foo", []).Within();
        Assert.That(await h.StatusAsync("held"), Does.StartWith("held start/running"));
    }

    [Test]
    public async Task A_restart_that_fails_says_Job_failed_to_restart()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "pre-start exec /bin/true\nexec /bin/sleep 100\n"));
        var start = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        await h.ExitAsync("svc", "pre-start", ExitStatus.Exited(0));
        await start.Within();

        var restart = h.Loop.RestartAsync("svc", []);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        await h.ExitAsync("svc", "pre-start", ExitStatus.Exited(3));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await restart.Within());
        Assert.That(failure!.Message, Is.EqualTo("Job failed to restart"));
        Assert.That(failure.Details, Has.Some.EqualTo("  svc: pre-start process exited with status 3"));
        Assert.That((await h.Loop.StatusAsync("svc", [])).StopReason, Is.EqualTo("failed: pre-start process exited with status 3"));
    }

    [Test]
    public async Task A_task_started_by_hand_is_forgotten_once_it_has_finished()
    {
        await using var h = await LoopHarness.CreateAsync(("once", "task\nexec /bin/true\n"));
        var store = new RecordingStore();
        await h.Loop.RestoreGoalsAsync(GoalState.Empty, store, "boot");

        var start = h.Loop.StartAsync("once", []);
        await store.SavedAsync(g => g.StartedByHand.Count == 1);
        await h.ExitAsync("once", "main", ExitStatus.Exited(0));
        await start.Within();

        await store.SavedAsync(g => g.StartedByHand.Count == 0);
    }

    [Test]
    public async Task Reload_keeps_a_running_instance_on_its_definition_until_its_next_start()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "exec /bin/sleep 1\n"), ("old", "exec /bin/sleep 2\n"), ("bad", "exec /bin/sleep 3\n"));
        await h.Loop.StartAsync("svc", []);
        await h.Loop.StartAsync("old", []);
        var oldPid = h.Processes.PidOf("old", "main");

        var changes = await h.Loop.ReloadConfigurationAsync(new JobLoadResult(
            [Parse("svc", "exec /bin/sleep 9\n", "v2"), Parse("new", "exec /bin/sleep 4\n")],
            [new ParseError("/test/bad.conf", 1, "Unknown stanza 'x'")])).Within();

        Assert.That(changes.Added, Is.EqualTo(new[] { "new" }));
        Assert.That(changes.Changed, Is.EqualTo(new[] { "svc" }));
        Assert.That(changes.Removed, Is.EqualTo(new[] { "old" }));
        Assert.That((await h.Loop.StatusAsync("svc", [])).ChangedOnDisk, Is.True);
        Assert.That((await h.Loop.StatusAsync("bad", [])).SourcePath, Is.EqualTo("/test/bad.conf"), "a rejected file keeps its job");
        Assert.That(h.Processes.SignalsSent, Has.Some.Matches<(int Pid, int Signal, bool Group)>(s => s.Pid == oldPid && s.Signal == Signals.SIGTERM));
        await h.ExitAsync(oldPid, ExitStatus.Killed(Signals.SIGTERM));
        Assert.That(async () => await h.Loop.StatusAsync("old", []), Throws.TypeOf<SupervisorException>().With.Message.EqualTo("Unknown job: old"));

        var restart = h.Loop.RestartAsync("svc", []);
        await h.ExitAsync("svc", "main", ExitStatus.Killed(Signals.SIGTERM));
        var status = await restart.Within();

        Assert.That(status!.ChangedOnDisk, Is.False);
        Assert.That(h.Processes.Spawns[^1].Request.Arguments, Is.EqualTo(new[] { "/bin/sleep", "9" }));
    }

    [Test]
    public async Task A_watcher_that_does_not_read_loses_items_counted_and_is_told_where()
    {
        await using var h = await LoopHarness.CreateAsync();
        using var monitor = new EventMonitor(h.Loop, historySize: 4, queueSize: 3);
        using var watcher = monitor.Watch(null, history: 0, afterSequence: 0, follow: true);

        for (var i = 0; i < 10; i++) await h.Loop.EmitAsync("tick", [$"N={i}"]);
        Assert.That(watcher.Dropped, Is.EqualTo(7));
        Assert.That(monitor.TotalDropped, Is.EqualTo(7));

        using var cts = new CancellationTokenSource(LoopHarness.Bound);
        var items = new List<SupervisorNotification>();
        var reading = Task.Run(async () =>
        {
            await foreach (var item in watcher.ReadAllAsync(cts.Token))
            {
                lock (items) items.Add(item);
            }
        }, CancellationToken.None);
        await Supervisor.Tests.Support.Eventually.TrueAsync(() => { lock (items) return items.Count == 3; }, "the queued items");
        await h.Loop.EmitAsync("after", []);
        await Supervisor.Tests.Support.Eventually.TrueAsync(() => { lock (items) return items.Count == 5; }, "the gap and the next item");

        lock (items)
        {
            Assert.That(items.Take(3).Cast<EventNotification>().Select(e => e.Environment[0]), Is.EqualTo(new[] { "N=0", "N=1", "N=2" }));
            Assert.That(items[3], Is.TypeOf<DroppedNotification>().With.Property("Count").EqualTo(7));
            Assert.That(items[4], Is.TypeOf<EventNotification>().With.Property("Name").EqualTo("after"));
        }
        // The history keeps the last 4 for a new watcher, whatever the slow one did.
        using var late = monitor.Watch(null, history: 100, afterSequence: 0, follow: false);
        var history = new List<SupervisorNotification>();
        await foreach (var item in late.ReadAllAsync(cts.Token)) history.Add(item);
        Assert.That(history.Cast<EventNotification>().Select(e => e.ToString()), Is.EqualTo(new[] { "tick N=7", "tick N=8", "tick N=9", "after" }));
        await cts.CancelAsync();
        try { await reading; } catch (OperationCanceledException) { }
    }

    [Test]
    public async Task Large_events_are_bounded_by_size_too()
    {
        await using var h = await LoopHarness.CreateAsync();
        using var monitor = new EventMonitor(h.Loop, historySize: 100, queueSize: 100, historyBytes: 40_000, queueBytes: 10_000);
        using var watcher = monitor.Watch(null, history: 0, afterSequence: 0, follow: true);
        var pad = new string('x', 8_000); // about 16 kB as UTF-16

        for (var i = 0; i < 5; i++) await h.Loop.EmitAsync("big", [$"PAD={pad}", $"N={i}"]);

        Assert.That(watcher.Dropped, Is.EqualTo(4), "one item always fits an empty queue; the rest exceed its bytes");
        using var late = monitor.Watch(null, history: 100, afterSequence: 0, follow: false);
        var kept = new List<SupervisorNotification>();
        await foreach (var item in late.ReadAllAsync(CancellationToken.None)) kept.Add(item);
        Assert.That(kept.Cast<EventNotification>().Select(e => e.Environment[1]), Is.EqualTo(new[] { "N=3", "N=4" }));
    }

    [Test]
    public async Task A_corrupt_state_file_is_set_aside_and_a_saved_state_reads_back()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-goals-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            await using (var store = new GoalStore(dir, NullLogger<GoalStore>.Instance))
            {
                File.WriteAllText(store.FilePath, "not json");
                Assert.That(store.Load(), Is.SameAs(GoalState.Empty));
                Assert.That(File.Exists(store.FilePath), Is.False);
                Assert.That(Directory.GetFiles(dir, "goals.json.corrupt-*"), Has.Length.EqualTo(1));
                store.Save(new GoalState { BootId = "b", StartedByHand = [new InstanceGoal("w", "mail", ["QUEUE=mail"])] });
            }
            await using var again = new GoalStore(dir, NullLogger<GoalStore>.Instance);
            var loaded = again.Load();
            Assert.That(loaded.BootId, Is.EqualTo("b"));
            Assert.That(loaded.StartedByHand.Single().Variables, Is.EqualTo(new[] { "QUEUE=mail" }));
            Assert.That(Directory.GetFiles(dir, "*.tmp"), Is.Empty);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task A_failed_write_is_counted_and_the_next_change_writes_again()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-goals-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            await using var store = new GoalStore(dir, NullLogger<GoalStore>.Instance);
            Directory.CreateDirectory(store.FilePath + ".tmp"); // the temp file cannot be created (even as root)
            store.Save(new GoalState { BootId = "one" });
            await Supervisor.Tests.Support.Eventually.TrueAsync(() => store.WriteFailures == 1, "a counted failure");
            Assert.That(File.Exists(store.FilePath), Is.False);

            Directory.Delete(store.FilePath + ".tmp");
            store.Save(new GoalState { BootId = "two" });
            await Supervisor.Tests.Support.Eventually.TrueAsync(() => File.Exists(store.FilePath), "the state file");
            Assert.That(File.ReadAllText(store.FilePath), Does.Contain("\"bootId\": \"two\""));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static bool SameGoal(InstanceGoal a, InstanceGoal b) => a.Job == b.Job && a.Instance == b.Instance && a.Variables.SequenceEqual(b.Variables);

    private static JobDefinition Parse(string name, string text, string source = "") =>
        JobParser.Parse(name, $"/test/{name}.conf", text).Job! with { SourceText = source };
}
