using System.Globalization;
using NUnit.Framework;

namespace Supervisor.Tests.Support;

/// <summary>
/// A job log of numbered lines (<c>line 1</c>, <c>line 2</c>…): what the re-exec and crash survival tests read to see
/// that no line was lost, doubled or put out of order across supd's exec or restart.
/// </summary>
public static class NumberedLog
{
    /// <summary>A steady writer of numbered lines (<c>line N</c>, 100 a second).</summary>
    public const string CounterJob = """
        start on startup
        script
            n=0
            while true; do n=$((n + 1)); echo "line $n"; sleep 0.01; done
        end script
        """;

    /// <summary>
    /// A fast writer of numbered lines (<c>flood N</c>, in bursts of 100 every 50 ms: some 2000 a second, so lines are
    /// always in flight, without taking a core from the rest of the suite for as long as the test runs; the benches
    /// flood at full speed).
    /// </summary>
    public const string FloodJob = """
        start on startup
        script
            n=0
            while true; do
                n=$((n + 1)); echo "flood $n"
                [ $((n % 100)) -eq 0 ] && sleep 0.05
            done
        end script
        """;

    /// <summary>The job's log with its rotated copies before it, oldest first.</summary>
    public static string Whole(SupdHarness supd, string job)
    {
        var path = supd.LogPath(job);
        var rotated = Enumerable.Range(1, 5).Select(n => $"{path}.{n}").Where(File.Exists).Reverse();
        return string.Concat(rotated.Select(File.ReadAllText)) + supd.ReadLog(job);
    }

    public static List<long> Numbers(string log, string prefix) =>
        [.. log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => long.Parse(l[prefix.Length..], CultureInfo.InvariantCulture))];

    // The whole lines that carry the prefix (a job's last line may be cut by its kill: not counted).
    private static List<long> WholeNumbers(string log, string prefix)
    {
        var lines = log.Split('\n');
        return Numbers(string.Join('\n', lines.Take(lines.Length - 1).Where(l => l.StartsWith(prefix, StringComparison.Ordinal))), prefix);
    }

    /// <summary>Every number from 1 up to the last, in order, exactly once.</summary>
    public static void AssertEachOnce(string log, string prefix)
    {
        var numbers = WholeNumbers(log, prefix);
        Assert.That(numbers, Has.Count.GreaterThan(10));
        var expected = Enumerable.Range(1, numbers.Count).Select(n => (long)n);
        Assert.That(numbers, Is.EqualTo(expected), $"{prefix.Trim()} lines lost, doubled or out of order");
    }

    /// <summary>
    /// In order and never doubled, with at most one gap of at most <paramref name="maxGapLines"/> lines (what a
    /// SIGKILL can cost: the one chunk supd had read from the pipe and not yet written).
    /// </summary>
    public static void AssertInOrderWithAtMostOneGap(string log, string prefix, int maxGapLines)
    {
        var numbers = WholeNumbers(log, prefix);
        Assert.That(numbers, Has.Count.GreaterThan(10));
        Assert.That(numbers[0], Is.EqualTo(1));
        var gaps = new List<(long After, long Missing)>();
        for (var i = 1; i < numbers.Count; i++)
        {
            Assert.That(numbers[i], Is.GreaterThan(numbers[i - 1]), $"{prefix.Trim()} {numbers[i]} doubled or out of order after {numbers[i - 1]}");
            if (numbers[i] != numbers[i - 1] + 1) gaps.Add((numbers[i - 1], numbers[i] - numbers[i - 1] - 1));
        }
        Assert.That(gaps, Has.Count.LessThanOrEqualTo(1), $"{prefix.Trim()} gaps: {string.Join(", ", gaps)}");
        Assert.That(gaps.Sum(g => g.Missing), Is.LessThanOrEqualTo(maxGapLines), $"{prefix.Trim()} lines lost");
    }
}
