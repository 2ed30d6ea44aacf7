extern alias ctl;
using System.Text.Json;
using NUnit.Framework;
using ctl::Supervisor.Ctl.Formatting;
using ctl::Supervisor.Protocol;

namespace Supervisor.Tests.Ctl;

// Inside the namespace, so it wins over the test namespace Supervisor.Tests.Core.State.
using State = ctl::Supervisor.Protocol.State;

/// <summary>supctl's formatters: text and --json from reply messages, without a daemon.</summary>
[TestFixture]
public sealed class CtlFormattingTests
{
    private static JobStatus Status(string job, Goal goal, State state, params (ProcessKind Kind, int Pid)[] processes)
    {
        var status = new JobStatus { Job = job, Goal = goal, State = state };
        foreach (var (kind, pid) in processes) status.Processes.Add(new ProcessInfo { Kind = kind, Pid = pid });
        return status;
    }

    [Test]
    public void The_status_line_is_initctls_with_upstarts_names()
    {
        Assert.That(StatusFormatter.StatusLine(Status("ticker", Goal.Start, State.Running, (ProcessKind.Main, 4825))),
            Is.EqualTo("ticker start/running, process 4825"));
        Assert.That(StatusFormatter.StatusLine(Status("web", Goal.Stop, State.Waiting)), Is.EqualTo("web stop/waiting"));
        Assert.That(StatusFormatter.StatusLine(Status("db", Goal.Start, State.PreStart, (ProcessKind.PreStart, 7))),
            Is.EqualTo("db start/pre-start, process 7"));
    }

    [Test]
    public void Extra_processes_follow_in_initctls_order_and_a_hook_first_is_named()
    {
        // Sent out of order: the line puts main first, then the hooks in stanza order.
        var status = Status("db", Goal.Start, State.PostStart, (ProcessKind.PostStart, 9), (ProcessKind.Main, 8));
        Assert.That(StatusFormatter.StatusLine(status), Is.EqualTo("db start/post-start, process 8\n\tpost-start process 9"));
        var hookOnly = Status("db", Goal.Stop, State.PreStop, (ProcessKind.PreStop, 5));
        Assert.That(StatusFormatter.StatusLine(hookOnly), Is.EqualTo("db stop/pre-stop, (pre-stop) process 5"));
    }

    [Test]
    public void Supds_additions_come_after_initctls_prefix()
    {
        var failed = Status("web", Goal.Stop, State.Waiting);
        failed.Failure = "respawning too fast";
        failed.Disabled = true;
        Assert.That(StatusFormatter.StatusLine(failed), Is.EqualTo("web stop/waiting (failed: respawning too fast) (disabled)"));

        var respawning = Status("web", Goal.Start, State.Respawning);
        respawning.NextRespawnMs = 4200;
        Assert.That(StatusFormatter.StatusLine(respawning), Is.EqualTo("web start/respawning, next in 4.2s"));

        var changed = Status("web", Goal.Start, State.Running, (ProcessKind.Main, 1));
        changed.ChangedOnDisk = true;
        Assert.That(StatusFormatter.StatusLine(changed), Is.EqualTo("web start/running, process 1 (changed on disk, restart to apply)"));
    }

    [Test]
    public void Status_adds_the_expect_problem_and_refused_hints_on_indented_lines()
    {
        var status = Status("d", Goal.Start, State.Running, (ProcessKind.Main, 3));
        status.ExpectProblem = "expect fork: no fork seen";
        status.NotApplied.Add("nice -5: Permission denied");
        Assert.That(StatusFormatter.StatusLines(status),
            Is.EqualTo(new[] { "d start/running, process 3", "\texpect fork: no fork seen", "\tnot applied: nice -5: Permission denied" }));
    }

    [Test]
    public void Json_writes_enum_values_as_upstarts_names_in_every_nested_message()
    {
        var status = Status("web", Goal.Start, State.PostStart, (ProcessKind.Main, 8), (ProcessKind.PostStart, 9));
        status.LastExit = new ProcessExit { Process = ProcessKind.PreStart, Pid = 7 };
        using var json = JsonDocument.Parse(JsonOutput.Document(new ListReply { Jobs = { status } }));
        var job = json.RootElement.GetProperty("jobs")[0];
        Assert.That(job.GetProperty("goal").GetString(), Is.EqualTo("start"));
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("post-start"));
        Assert.That(job.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("kind").GetString()), Is.EqualTo(new[] { "main", "post-start" }));
        Assert.That(job.GetProperty("lastExit").GetProperty("process").GetString(), Is.EqualTo("pre-start"));
        // Defaults are written too (a stopped job's goal is "stop", its state "waiting").
        using var stopped = JsonDocument.Parse(JsonOutput.Document(Status("x", Goal.Stop, State.Waiting)));
        Assert.That((stopped.RootElement.GetProperty("goal").GetString(), stopped.RootElement.GetProperty("state").GetString()), Is.EqualTo(("stop", "waiting")));
    }

    [Test]
    public void Json_is_one_compact_line_escaping_only_what_json_needs()
    {
        var line = JsonOutput.Document(new EmittedEvent { Name = "deploy", Env = { "WHEN=+00:00", "Q=\"x\"" } });
        Assert.That(line, Is.EqualTo("""{"name":"deploy","env":["WHEN=+00:00","Q=\"x\""]}"""));
    }

    [Test]
    public void Event_lines_name_goal_and_states_as_upstart_does()
    {
        var item = new WatchEventsReply
        {
            Sequence = 11, UnixMs = 0,
            StateChange = new StateChange { Job = "ticker", Goal = Goal.Start, FromState = State.PostStart, ToState = State.Running },
        };
        Assert.That(EventFormatter.Text(item), Does.EndWith(" state ticker start/running (from post-start)"));
        using var json = JsonDocument.Parse(EventFormatter.Json(item));
        Assert.That(json.RootElement.GetProperty("goal").GetString(), Is.EqualTo("start"));
        Assert.That(json.RootElement.GetProperty("from").GetString(), Is.EqualTo("post-start"));
        Assert.That(json.RootElement.GetProperty("to").GetString(), Is.EqualTo("running"));
    }

    [Test]
    public void Show_labels_the_state_and_the_last_exit_with_upstarts_names()
    {
        var status = Status("web", Goal.Stop, State.Waiting);
        status.StopReason = "by hand, by alice (uid 1000)";
        status.LastExit = new ProcessExit { Process = ProcessKind.Main, Pid = 42, ExitStatus = 3 };
        var lines = ShowFormatter.Lines(status, "", 10, DateTimeOffset.UnixEpoch).ToArray();
        Assert.That(lines, Does.Contain("  State: stop/waiting").Or.Contain("      State: stop/waiting"));
        Assert.That(lines.Any(l => l.EndsWith("Stopped: by hand, by alice (uid 1000)", StringComparison.Ordinal)), Is.True, string.Join('\n', lines));
        Assert.That(lines.Any(l => l.EndsWith("Last exit: main process 42 exited with status 3", StringComparison.Ordinal)), Is.True, string.Join('\n', lines));
        Assert.That(lines[^1], Is.EqualTo("No output logged yet."));
    }

    [Test]
    public void Show_says_a_process_the_oom_killer_ended_ran_out_of_memory_and_which_limit()
    {
        var status = Status("hog", Goal.Stop, State.Waiting);
        status.LastExit = new ProcessExit { Process = ProcessKind.Main, Pid = 42, SignalName = "KILL", OutOfMemory = "out of memory (memory max 64M)" };
        var lines = ShowFormatter.Lines(status, "", 10, DateTimeOffset.UnixEpoch).ToArray();
        Assert.That(lines.Any(l => l.EndsWith("Last exit: main process 42 out of memory (memory max 64M)", StringComparison.Ordinal)), Is.True, string.Join('\n', lines));
    }
}
