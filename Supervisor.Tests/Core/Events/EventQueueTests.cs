using NUnit.Framework;
using Supervisor.Core.Events;

namespace Supervisor.Tests.Core.Events;

/// <summary>
/// Upstart's event_poll on its own (<see cref="EventQueue"/>): events are handled in the order emitted, wait while
/// anything blocks them, finish with their callbacks, and a failed one emits NAME/failed once.
/// </summary>
[TestFixture]
public sealed class EventQueueTests
{
    private readonly List<string> _emitted = [];

    [SetUp]
    public void Forget() => _emitted.Clear();

    private EventQueue Queue() => new(e => _emitted.Add(e.ToString()));

    // Events e0…e(n-1) emitted, handled and each held by one blocker; each adds "finished eN" (or its name alone, with
    // prefix "") to the list as it finishes.
    private static List<Event> Held(EventQueue queue, int n, List<string> finished, string prefix = "finished ")
    {
        var events = Enumerable.Range(0, n).Select(i => queue.Emit($"e{i}", new EnvironmentList())).ToList();
        queue.Poll(e => e.Block());
        foreach (var e in events) e.OnFinished.Add(x => finished.Add(prefix + x.Name));
        return events;
    }

    [Test]
    public void Events_are_handled_in_the_order_emitted_and_finish_when_nothing_blocks_them()
    {
        var queue = Queue();
        var handled = new List<string>();
        var finished = new List<string>();
        var a = queue.Emit("a", new EnvironmentList(["K=1"]));
        var b = queue.Emit("b", new EnvironmentList());
        a.OnFinished.Add(e => finished.Add(e.Name));
        b.OnFinished.Add(e => finished.Add(e.Name));
        Assert.That(_emitted, Is.EqualTo(new[] { "a K=1", "b" }), "each emit is told at once");
        Assert.That(queue.InFlight, Is.EqualTo(2));

        queue.Poll(e => handled.Add(e.Name));

        Assert.That(handled, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(finished, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(a.Progress, Is.EqualTo(EventProgress.Finished));
        Assert.That(queue.InFlight, Is.Zero);
    }

    [Test]
    public void A_blocked_event_waits_until_it_is_unblocked_and_an_event_emitted_while_handling_is_handled_in_the_same_poll()
    {
        var queue = Queue();
        var held = queue.Emit("held", new EnvironmentList());
        var handled = new List<string>();
        queue.Poll(e =>
        {
            handled.Add(e.Name);
            if (e.Name == "held")
            {
                e.Block();
                queue.Emit("caused", new EnvironmentList());
            }
        });
        Assert.That(handled, Is.EqualTo(new[] { "held", "caused" }));
        Assert.That(held.Progress, Is.EqualTo(EventProgress.Handling));
        Assert.That(queue.InFlight, Is.EqualTo(1));

        held.Unblock();
        queue.Poll(_ => { });
        Assert.That(held.Progress, Is.EqualTo(EventProgress.Finished));
        Assert.That(queue.InFlight, Is.Zero);
    }

    [Test]
    public void A_failed_event_emits_its_failed_event_once_and_that_one_no_further()
    {
        var queue = Queue();
        var e = queue.Emit("deploy", new EnvironmentList(["V=2"]));
        var handled = new List<string>();
        queue.Poll(x =>
        {
            handled.Add(x.Name);
            x.Failed = true;
        });
        Assert.That(handled, Is.EqualTo(new[] { "deploy", "deploy/failed" }));
        Assert.That(_emitted, Is.EqualTo(new[] { "deploy V=2", "deploy/failed V=2" }));
        Assert.That(queue.InFlight, Is.Zero);
    }

    [Test]
    public void Many_held_events_keep_their_order_as_they_are_released_out_of_order()
    {
        var queue = Queue();
        var finished = new List<string>();
        var events = Held(queue, 5, finished, prefix: "");

        events[3].Unblock();
        events[1].Unblock();
        queue.Poll(_ => { });
        Assert.That(finished, Is.EqualTo(new[] { "e1", "e3" }), "in emission order, whatever the order of release");
        Assert.That(queue.InFlight, Is.EqualTo(3));
    }

    [Test]
    public void A_finishing_pass_goes_forward_an_event_released_behind_it_waits_for_the_next_after_new_events_are_handled()
    {
        // As event_poll walks its one list: e2's callback releases e0 (behind the pass) and e3 (ahead of it), and emits
        // "new". e3 finishes in the same pass; "new" is handled before the next pass finishes e0.
        var queue = Queue();
        var order = new List<string>();
        var events = Held(queue, 4, order);
        events[2].OnFinished.Add(_ =>
        {
            events[0].Unblock();
            events[3].Unblock();
            queue.Emit("new", new EnvironmentList()).Block();
        });

        events[2].Unblock();
        queue.Poll(e => order.Add("handled " + e.Name));
        Assert.That(order, Is.EqualTo(new[] { "finished e2", "finished e3", "handled new", "finished e0" }));
        Assert.That(queue.InFlight, Is.EqualTo(2), "e1 and new, still held");
    }

    [Test]
    public void An_event_released_during_a_pass_is_finished_in_order_and_one_blocked_again_is_not()
    {
        var queue = Queue();
        var finished = new List<string>();
        var events = Held(queue, 4, finished, prefix: "");
        events[1].OnFinished.Add(_ =>
        {
            events[0].Unblock(); // behind the pass: waits for the next one (in the same poll, nothing pending between)
            events[3].Unblock(); // ahead of it: this pass
        });

        events[1].Unblock();
        events[2].Unblock();
        events[2].Block(); // released and taken again before the poll: not finished
        queue.Poll(_ => { });
        Assert.That(finished, Is.EqualTo(new[] { "e1", "e3", "e0" }));
        Assert.That(events[2].Progress, Is.EqualTo(EventProgress.Handling));
        Assert.That(queue.InFlight, Is.EqualTo(1));
    }

    [Test]
    public void A_pass_cut_short_by_its_slice_goes_on_where_it_stopped_before_pending_events()
    {
        var queue = Queue();
        var order = new List<string>();
        var events = Held(queue, 3, order);
        foreach (var e in events) e.Unblock();

        Assert.That(queue.Poll(_ => { }, yieldNow: () => true), Is.True, "cut after the first event");
        Assert.That(order, Is.EqualTo(new[] { "finished e0" }));
        queue.Emit("later", new EnvironmentList());
        while (queue.Poll(e => order.Add("handled " + e.Name), yieldNow: () => true)) { }
        Assert.That(order, Is.EqualTo(new[] { "finished e0", "finished e1", "finished e2", "handled later" }));
        Assert.That(queue.InFlight, Is.Zero);
    }
}
