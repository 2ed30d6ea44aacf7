using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// The loop failing (an exception escaping a handler, here a notification handler that throws): nothing may wait for
/// it forever, and nothing it started may be left running.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class LoopFailureTests
{
    [Test]
    public async Task A_failed_loop_refuses_every_request_and_terms_then_kills_what_it_ran()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("svc", "kill timeout 7\nexec /bin/sleep 100\n"),
            ("slow", "pre-start exec /bin/sleep 100\nexec /bin/sleep 100\n"),
            ("bomb", "exec /bin/true\n"));
        await h.Loop.StartAsync("svc", []);
        var svc = h.Processes.PidOf("svc", "main");
        var waiting = h.Loop.StartAsync("slow", []); // waits for a pre-start that never ends
        await h.SettleAsync();
        var preStart = h.Processes.PidOf("slow", "pre-start");
        Assert.That(waiting.IsCompleted, Is.False);

        h.Loop.Notified += n =>
        {
            if (n is StateChangeNotification { Job: "bomb" }) throw new InvalidOperationException("a bug");
        };
        var failing = h.Loop.StartAsync("bomb", []);

        const string Refusal = "supd's supervision loop failed; supd is stopping";
        Assert.That(async () => await failing.Within(), Throws.TypeOf<SupervisorException>().With.Message.EqualTo(Refusal));
        Assert.That(async () => await waiting.Within(), Throws.TypeOf<SupervisorException>().With.Message.EqualTo(Refusal));
        Assert.That(async () => await h.Loop.ListAsync(), Throws.TypeOf<SupervisorException>().With.Message.EqualTo(Refusal));
        Assert.That(async () => await h.Running.Within(), Throws.InvalidOperationException.With.InnerException.Message.EqualTo("a bug"));
        Assert.That(h.Loop.HasFailed, Is.True);

        // SIGTERM to every group at once; SIGKILL after the longest kill timeout (7 s), not before.
        Assert.That(h.Processes.SignalsSent, Does.Contain((svc, Signals.SIGTERM, true)).And.Contain((preStart, Signals.SIGTERM, true)));
        h.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.That(h.Processes.SignalsSent.Where(s => s.Signal == Signals.SIGKILL), Is.Empty);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.Loop.AfterFailureAsync().Within();
        Assert.That(h.Processes.SignalsSent, Does.Contain((svc, Signals.SIGKILL, true)).And.Contain((preStart, Signals.SIGKILL, true)));
    }
}
