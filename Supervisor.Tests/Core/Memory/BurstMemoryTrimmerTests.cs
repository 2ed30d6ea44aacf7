using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Memory;

namespace Supervisor.Tests.Core.Memory;

/// <summary>The trim's timing rules, on a fake clock with a fake allocation counter (the real GC is not involved).</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public class BurstMemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;

    private sealed class Setup
    {
        public readonly FakeTimeProvider Time = new();
        public long Allocated;
        public int Trims;
        public readonly BurstMemoryTrimmer Trimmer;

        public Setup()
        {
            Trimmer = new BurstMemoryTrimmer(Time, NullLogger<BurstMemoryTrimmer>.Instance)
            {
                QuietPeriod = TimeSpan.FromSeconds(2),
                Threshold = 16 * MiB,
                AllocatedBytes = () => Allocated,
                Trim = () => Trims++,
            };
        }
    }

    [Test]
    public void A_burst_is_trimmed_once_the_quiet_period_has_passed_and_not_before()
    {
        var s = new Setup();
        s.Allocated = 100 * MiB;
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.That(s.Trims, Is.Zero);
        s.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(s.Trims, Is.EqualTo(1));
        Assert.That(s.Trimmer.Trims, Is.EqualTo(1));
    }

    [Test]
    public void Steady_activity_postpones_the_trim_until_it_stops()
    {
        var s = new Setup();
        for (var i = 0; i < 10; i++)
        {
            s.Allocated += 10 * MiB;
            s.Trimmer.OnActivity();
            s.Time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.That(s.Trims, Is.Zero, "never quiet for 2 s");
        s.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(s.Trims, Is.EqualTo(1), "2 s after the last activity");
    }

    [Test]
    public void A_small_burst_is_not_worth_a_collection()
    {
        var s = new Setup();
        s.Allocated = 15 * MiB;
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(s.Trims, Is.Zero);
    }

    [Test]
    public void Only_what_was_allocated_since_the_last_trim_counts()
    {
        var s = new Setup();
        s.Allocated = 100 * MiB;
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(s.Trims, Is.EqualTo(1));

        s.Allocated += 10 * MiB;
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(s.Trims, Is.EqualTo(1), "10 MiB since the trim");

        s.Allocated += 10 * MiB;
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(s.Trims, Is.EqualTo(2), "20 MiB since the trim");
    }

    [Test]
    public void An_idle_supervisor_has_no_timer_and_is_never_trimmed()
    {
        var s = new Setup();
        s.Allocated = 100 * MiB;
        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.That(s.Trims, Is.Zero, "no activity, no trim");

        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(3));
        s.Allocated += 100 * MiB; // allocated while quiet (say, status requests): waits for the next activity
        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.That(s.Trims, Is.EqualTo(1));
    }

    [Test]
    public void Nothing_happens_after_dispose()
    {
        var s = new Setup();
        s.Allocated = 100 * MiB;
        s.Trimmer.OnActivity();
        s.Trimmer.Dispose();
        s.Time.Advance(TimeSpan.FromSeconds(10));
        s.Trimmer.OnActivity();
        s.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(s.Trims, Is.Zero);
    }
}
