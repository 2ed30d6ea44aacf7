using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The one deadline per instance: a stale expiry is refused, a disarmed one never fires.</summary>
[TestFixture]
public sealed class InstanceDeadlineTests
{
    [Test]
    public void FiresOnceWithItsGenerationAndIsThenSpent()
    {
        var time = new FakeTimeProvider();
        var deadline = new InstanceDeadline();
        var fired = new List<long>();
        deadline.Arm(time, TimeSpan.FromSeconds(5), fired.Add);
        Assert.That(deadline.At, Is.EqualTo(time.GetUtcNow() + TimeSpan.FromSeconds(5)));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.That(fired, Is.Empty);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(fired, Is.EqualTo(new[] { deadline.Generation }));
        Assert.That(deadline.Reached(fired[0]), Is.True);
        Assert.That(deadline.Reached(fired[0]), Is.False, "a one-shot deadline is spent once reached");
    }

    [Test]
    public void ReArmingMakesTheEarlierExpiryStale()
    {
        var time = new FakeTimeProvider();
        var deadline = new InstanceDeadline();
        var fired = new List<long>();
        deadline.Arm(time, TimeSpan.FromSeconds(1), fired.Add);
        time.Advance(TimeSpan.FromSeconds(1)); // posted, but not yet handled by the loop
        deadline.Arm(time, TimeSpan.FromSeconds(10), fired.Add);
        Assert.That(deadline.Reached(fired[0]), Is.False);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(fired, Has.Count.EqualTo(2));
        Assert.That(deadline.Reached(fired[1]), Is.True);
    }

    [Test]
    public void DisarmedNeverFiresAndForgetsWhenItWasDue()
    {
        var time = new FakeTimeProvider();
        var deadline = new InstanceDeadline();
        var fired = new List<long>();
        deadline.Arm(time, TimeSpan.FromSeconds(1), fired.Add);
        deadline.Disarm();
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.That(fired, Is.Empty);
        Assert.That(deadline.At, Is.Null);
    }

    [Test]
    public void APeriodicDeadlineStaysCurrentAtEveryExpiry()
    {
        var time = new FakeTimeProvider();
        var deadline = new InstanceDeadline();
        var fired = new List<long>();
        deadline.Arm(time, TimeSpan.FromMilliseconds(20), fired.Add, TimeSpan.FromMilliseconds(20));
        for (var i = 0; i < 3; i++) time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.That(fired, Has.Count.EqualTo(3));
        Assert.That(fired.All(deadline.Reached), Is.True);
    }
}
