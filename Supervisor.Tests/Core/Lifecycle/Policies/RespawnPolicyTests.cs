using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>The respawn limit's fixed window and the respawn delay's doubling, jitter, cap and reset, without a loop.</summary>
[TestFixture]
public sealed class RespawnPolicyTests
{
    private FakeTimeProvider _time = new();

    // NUnit shares one fixture between its tests: each gets its own clock.
    [SetUp]
    public void Fresh() => _time = new FakeTimeProvider();

    private RespawnPolicy Policy(RespawnDelay? daemonDelay = null, double random = 0) =>
        new(_time, new SupervisorOptions { RespawnDelay = daemonDelay, Random = new FixedRandom(random) });

    [Test]
    public void TheLimitAllowsCountRespawnsInTheWindowAndRefusesTheNext()
    {
        var policy = Policy();
        var tally = new RespawnTally();
        var limit = new RespawnLimit(3, 5);
        Assert.That(Enumerable.Range(0, 3).Select(_ => policy.TooFast(limit, tally)), Is.All.False);
        Assert.That(policy.TooFast(limit, tally), Is.True, "the fourth within 5s");
    }

    [Test]
    public void TheWindowIsFixedFromItsFirstRespawnAndStartsAgainAfterIt()
    {
        var policy = Policy();
        var tally = new RespawnTally();
        var limit = new RespawnLimit(2, 5);
        Assert.That(policy.TooFast(limit, tally), Is.False);
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.That(policy.TooFast(limit, tally), Is.False);
        _time.Advance(TimeSpan.FromSeconds(1.5)); // 5.5s after the window's first: a new window
        Assert.That(policy.TooFast(limit, tally), Is.False);
        Assert.That(tally.WindowCount, Is.EqualTo(1));
    }

    [Test]
    public void AnUnlimitedLimitNeverRefusesAndCountsNothing()
    {
        var tally = new RespawnTally();
        Assert.That(Enumerable.Range(0, 100).Any(_ => Policy().TooFast(RespawnLimit.Unlimited, tally)), Is.False);
        Assert.That(tally.WindowCount, Is.Zero);
    }

    [Test]
    public void NoDelayAnywhereIsUpstartsImmediateRespawn() =>
        Assert.That(Policy().NextDelay(null, new RespawnTally(), null), Is.Null);

    [Test]
    public void TheDelayDoublesFromMinUpToMax()
    {
        var policy = Policy();
        var tally = new RespawnTally();
        var delays = Enumerable.Range(0, 6).Select(_ => policy.NextDelay(new RespawnDelay(1, 10), tally, _time.GetUtcNow())!.Value.TotalSeconds);
        Assert.That(delays, Is.EqualTo(new[] { 1.0, 2, 4, 8, 10, 10 }));
    }

    [Test]
    public void JitterAddsUpToAFifthButNeverPassesMax()
    {
        var tally = new RespawnTally();
        Assert.That(Policy(random: 1).NextDelay(new RespawnDelay(1, 10), tally, null)!.Value.TotalSeconds, Is.EqualTo(1.2).Within(1e-9));
        tally.BackoffAttempt = 3; // 8s, +20% would be 9.6s
        Assert.That(Policy(random: 1).NextDelay(new RespawnDelay(1, 10), tally, null)!.Value.TotalSeconds, Is.EqualTo(9.6).Within(1e-9));
        tally.BackoffAttempt = 4;
        Assert.That(Policy(random: 1).NextDelay(new RespawnDelay(1, 10), tally, null)!.Value.TotalSeconds, Is.EqualTo(10));
    }

    [Test]
    public void ARunAsLongAsMaxStartsTheBackOffAgainAtMin()
    {
        var policy = Policy();
        var tally = new RespawnTally { BackoffAttempt = 3 };
        var started = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(policy.NextDelay(new RespawnDelay(1, 10), tally, started)!.Value.TotalSeconds, Is.EqualTo(1));
    }

    [Test]
    public void TheDaemonWideDelayAppliesToJobsWithoutTheirOwnAndTheStanzaWins()
    {
        var policy = Policy(daemonDelay: new RespawnDelay(3, 3));
        Assert.That(policy.NextDelay(null, new RespawnTally(), null)!.Value.TotalSeconds, Is.EqualTo(3));
        Assert.That(policy.NextDelay(new RespawnDelay(0.5, 0.5), new RespawnTally(), null)!.Value.TotalSeconds, Is.EqualTo(0.5));
    }

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
