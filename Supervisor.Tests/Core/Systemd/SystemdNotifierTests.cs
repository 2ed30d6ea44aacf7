using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.Systemd;
using Supervisor.Tests.Core.Lifecycle;

namespace Supervisor.Tests.Core.Systemd;

/// <summary>sd_notify messages as a fake systemd receives them, and the throttled STATUS= line.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class SystemdNotifierTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Each_state_is_one_datagram_on_the_socket_NOTIFY_SOCKET_names()
    {
        using var systemd = new FakeNotifySocket();
        using var notifier = new SystemdNotifier(systemd.Address, NullLogger<SystemdNotifier>.Instance);

        notifier.Ready();
        notifier.Status("3 jobs, 2 running, 1 failed");
        notifier.Stopping();

        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("READY=1"));
        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("STATUS=3 jobs, 2 running, 1 failed"));
        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("STOPPING=1"));
        Assert.That(notifier.Failures, Is.Zero);
    }

    [Test]
    public async Task Reloading_carries_the_monotonic_time_in_microseconds()
    {
        using var systemd = new FakeNotifySocket();
        using var notifier = new SystemdNotifier(systemd.Address, NullLogger<SystemdNotifier>.Instance);

        var before = Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);
        notifier.Reloading();
        var after = Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);
        notifier.Ready();

        var lines = (await systemd.ReceiveAsync(Bound))!.Split('\n');
        Assert.That(lines[0], Is.EqualTo("RELOADING=1"));
        Assert.That(lines[1], Does.StartWith("MONOTONIC_USEC="));
        Assert.That(long.Parse(lines[1]["MONOTONIC_USEC=".Length..], System.Globalization.CultureInfo.InvariantCulture),
            Is.InRange(before, after));
        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("READY=1"));
    }

    [Test]
    public async Task An_abstract_socket_is_named_with_a_leading_at()
    {
        using var systemd = new FakeNotifySocket(abstractName: true);
        using var notifier = new SystemdNotifier(systemd.Address, NullLogger<SystemdNotifier>.Instance);

        notifier.Ready();

        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("READY=1"));
    }

    [Test]
    public void Without_NOTIFY_SOCKET_nothing_is_sent_and_a_dead_socket_is_counted_not_thrown()
    {
        using var off = new SystemdNotifier(null, NullLogger<SystemdNotifier>.Instance);
        off.Ready();
        Assert.That(off.IsEnabled, Is.False);

        using var dead = new SystemdNotifier("/nonexistent/supd-notify.sock", NullLogger<SystemdNotifier>.Instance);
        dead.Ready();
        dead.Stopping();
        Assert.That(dead.Failures, Is.EqualTo(2));
    }

    [Test]
    public async Task The_status_line_follows_state_changes_at_most_once_per_interval()
    {
        using var systemd = new FakeNotifySocket();
        using var notifier = new SystemdNotifier(systemd.Address, NullLogger<SystemdNotifier>.Instance);
        await using var h = await LoopHarness.CreateAsync(("web", "exec /bin/sleep 100\n"), ("db", "exec /bin/sleep 100\n"), ("broken", "exec /bin/false\n"));
        using var reporter = new SystemdStatusReporter(h.Loop, notifier, h.Time, NullLogger<SystemdStatusReporter>.Instance);

        await reporter.StartAsync();
        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("STATUS=3 jobs, 0 running, 0 failed"));

        await h.Loop.StartAsync("web", []);
        await h.Loop.StartAsync("db", []);
        await h.Loop.StartAsync("broken", [], wait: false);
        await h.ExitAsync("broken", "main", ExitStatus.Exited(1));
        Assert.That(await systemd.ReceiveAsync(TimeSpan.FromMilliseconds(200)), Is.Null, "no update before the interval has passed");

        await h.AdvanceAsync(reporter.Interval);
        Assert.That(await systemd.ReceiveAsync(Bound), Is.EqualTo("STATUS=3 jobs, 2 running, 1 failed"), "many changes, one update");
    }

    [Test]
    public void The_summary_counts_list_lines_running_services_and_jobs_stopped_by_a_failure()
    {
        Assert.That(SystemdStatusReporter.Summary([]), Is.EqualTo("0 jobs, 0 running, 0 failed"));
        Assert.That(SystemdStatusReporter.Summary([
            new JobStatusSnapshot { Job = "a", Goal = JobGoal.Start, State = JobState.Running },
        ]), Is.EqualTo("1 job, 1 running, 0 failed"));
    }
}
