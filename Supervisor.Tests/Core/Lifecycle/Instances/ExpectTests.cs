using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>expect stop|fork|daemon with fake processes: following the daemon, and never hanging on a wrong expect.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ExpectTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    [Test]
    public async Task Expect_fork_follows_the_child_left_by_the_first_process()
    {
        await using var h = await LoopHarness.CreateAsync(("d", "expect fork\nexec /usr/sbin/food\n"));
        var start = h.Loop.StartAsync("d", []);
        await h.SettleAsync();
        var first = h.Processes.PidOf("d", "main");
        Assert.That(await h.StatusAsync("d"), Is.EqualTo($"d start/spawned, process {first}"));

        h.Processes.Orphans.Add((5000, h.Processes.TagOf("d")));
        h.Processes.Info[5000] = new ProcessInfo('S', 1, first, first);
        await h.ExitAsync(first, ExitStatus.Exited(0));
        await h.AdvanceAsync(Poll);

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("d start/running, process 5000"));
    }

    [Test]
    [Category("Hardening")]
    public async Task Tags_are_random_per_start_and_a_process_started_before_the_job_is_never_its_daemon()
    {
        await using var h = await LoopHarness.CreateAsync(("d", "expect fork\nexec /usr/sbin/food\n"));
        h.Processes.Clock = 5000;
        var start = h.Loop.StartAsync("d", []);
        await h.SettleAsync();
        var first = h.Processes.PidOf("d", "main");
        var tag = h.Processes.TagOf("d");
        Assert.That(tag, Does.Match("^[0-9a-f]{32}$"), "128 random bits, hex");

        // Planted by a job user who learnt the tag: it carries it but started before the job's main process.
        h.Processes.Orphans.Add((4000, tag));
        h.Processes.Info[4000] = new ProcessInfo('S', 1, 4000, 4000, StartTime: 4999);
        h.Processes.Orphans.Add((5000, tag));
        h.Processes.Info[5000] = new ProcessInfo('S', 1, first, first, StartTime: 5001);
        await h.ExitAsync(first, ExitStatus.Exited(0));
        await h.AdvanceAsync(Poll);
        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("d start/running, process 5000"));

        var stop = h.Loop.StopAsync("d", []);
        await h.SettleAsync();
        await h.ExitAsync(5000, ExitStatus.Killed(Signals.SIGTERM));
        await stop.Within();
        _ = h.Loop.StartAsync("d", []);
        await h.SettleAsync();
        Assert.That(h.Processes.TagOf("d"), Is.Not.EqualTo(tag).And.Match("^[0-9a-f]{32}$"), "a new tag per start");
    }

    [Test]
    public async Task The_followed_daemon_is_killed_through_its_own_process_group()
    {
        await using var h = await LoopHarness.CreateAsync(("d", "expect daemon\nexec /usr/sbin/food\n"));
        var start = h.Loop.StartAsync("d", []);
        await h.SettleAsync();
        var first = h.Processes.PidOf("d", "main");
        h.Processes.Orphans.Add((5000, h.Processes.TagOf("d")));
        h.Processes.Info[5000] = new ProcessInfo('S', 1, 4999, 4999); // after setsid and a second fork
        await h.ExitAsync(first, ExitStatus.Exited(0));
        await h.AdvanceAsync(Poll);
        await start.WaitAsync(LoopHarness.Bound);

        var stop = h.Loop.StopAsync("d", []);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Does.Contain((4999, Signals.SIGTERM, true)));
        await h.ExitAsync(5000, ExitStatus.Killed(Signals.SIGTERM));
        Assert.That((await stop.Within())!.StatusLine(), Is.EqualTo("d stop/waiting"));
    }

    [Test]
    public async Task Expect_daemon_waits_out_the_short_lived_middle_child_of_a_double_fork()
    {
        await using var h = await LoopHarness.CreateAsync(("d", "expect daemon\nexec /usr/sbin/food\n"));
        var start = h.Loop.StartAsync("d", []);
        await h.SettleAsync();
        var first = h.Processes.PidOf("d", "main");
        var tag = h.Processes.TagOf("d");
        // The middle child is a session leader (it called setsid) and is about to fork and exit.
        h.Processes.Orphans.Add((4999, tag));
        h.Processes.Info[4999] = new ProcessInfo('S', 1, 4999, 4999);
        await h.ExitAsync(first, ExitStatus.Exited(0));
        await h.AdvanceAsync(Poll);
        Assert.That(start.IsCompleted, Is.False, "a session leader may still fork again");

        h.Processes.Orphans.Clear();
        h.Processes.Orphans.Add((5000, tag));
        h.Processes.Info[5000] = new ProcessInfo('S', 1, 4999, 4999);
        await h.AdvanceAsync(Poll);

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("d start/running, process 5000"));
    }

    [Test]
    public async Task Expect_stop_continues_the_process_once_it_has_stopped_itself()
    {
        await using var h = await LoopHarness.CreateAsync(("ssh", "expect stop\nexec /usr/sbin/sshd -D\n"));
        var start = h.Loop.StartAsync("ssh", []);
        await h.SettleAsync();
        var pid = h.Processes.PidOf("ssh", "main");
        await h.AdvanceAsync(Poll);
        Assert.That(start.IsCompleted, Is.False);

        h.Processes.Info[pid] = new ProcessInfo('T', 1, pid, pid);
        await h.AdvanceAsync(Poll);

        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo($"ssh start/running, process {pid}"));
        Assert.That(h.Processes.SignalsSent, Does.Contain((pid, Signals.SIGCONT, false)));
    }

    [Test]
    public async Task A_wrong_expect_fork_is_reported_after_the_timeout_and_the_job_runs_as_it_is()
    {
        await using var h = await LoopHarness.CreateAsync(("x", "expect fork\nexec sleep 1000\n"));
        var start = h.Loop.StartAsync("x", []);
        await h.SettleAsync();
        var pid = h.Processes.PidOf("x", "main");

        await h.AdvanceAsync(TimeSpan.FromSeconds(9.9));
        Assert.That(start.IsCompleted, Is.False);
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.2));

        var status = (await start.Within())!;
        Assert.That(status.StatusLine(), Is.EqualTo($"x start/running, process {pid}"));
        Assert.That(status.ExpectProblem, Is.EqualTo($"expect fork: the main process ({pid}) did not fork and exit within 10s; supervising it as it is"));
    }

    [Test]
    public async Task A_job_waiting_on_expect_can_be_stopped_at_once()
    {
        await using var h = await LoopHarness.CreateAsync(("x", "expect fork\nexec sleep 1000\n"));
        var start = h.Loop.StartAsync("x", []);
        await h.SettleAsync();
        var pid = h.Processes.PidOf("x", "main");

        var stop = h.Loop.StopAsync("x", []);
        await h.SettleAsync();
        Assert.That(h.Processes.SignalsSent, Does.Contain((pid, Signals.SIGTERM, true)));
        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGTERM));

        Assert.That((await stop.Within())!.StatusLine(), Is.EqualTo("x stop/waiting"));
        Assert.That((await start.Within())!.StatusLine(), Is.EqualTo("x stop/waiting"));
    }

    [Test]
    public async Task A_first_process_that_exits_without_leaving_a_daemon_fails_the_start()
    {
        await using var h = await LoopHarness.CreateAsync(("x", "expect fork\nexec /bin/true\n"));
        var start = h.Loop.StartAsync("x", []);
        await h.SettleAsync();

        await h.ExitAsync("x", "main", ExitStatus.Exited(0));
        await h.AdvanceAsync(TimeSpan.FromSeconds(2.1));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Details, Is.EqualTo(new[] { "  x: expect fork: the main process exited with status 0 and left no process behind" }));
    }

    [Test]
    public async Task A_first_process_that_fails_before_forking_fails_the_start()
    {
        await using var h = await LoopHarness.CreateAsync(("x", "expect daemon\nexec /usr/sbin/food\n"));
        var start = h.Loop.StartAsync("x", []);
        await h.SettleAsync();

        await h.ExitAsync("x", "main", ExitStatus.Exited(1));

        var failure = Assert.ThrowsAsync<SupervisorException>(async () => await start.Within())!;
        Assert.That(failure.Details, Is.EqualTo(new[] { "  x: main process exited with status 1" }));
    }
}
