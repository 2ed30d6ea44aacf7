using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>
/// Seeded random mutations of the corpus: the parser must never throw, must either parse or report
/// <c>PATH:LINE: MESSAGE</c>, and must stay fast (linear-ish) on garbage.
/// </summary>
[TestFixture]
public sealed class ParserFuzzTests
{
    private const int Seed = 20140417;   // fixed: failures must be reproducible
    private const int MutationsPerFile = 60;
    private const string FuzzPath = "/fuzz/job.conf";

    private static readonly string[] Insertions = ["\"", "'", "\\", "(", ")", "#", "\n", "\\\n", " and ", " or ", "end script\n", "script\n", "=", "!=", "\r", "\t", "$", "${"];

    [Test]
    public void MutatedCorpusNeverThrowsAndReportsLocatedErrors()
    {
        var corpus = JobAssert.CorpusDirectory;
        var random = new Random(Seed);
        var located = new Regex("^" + Regex.Escape(FuzzPath) + @":\d+: \S");
        var stopwatch = Stopwatch.StartNew();
        int parsed = 0, rejected = 0;

        foreach (var file in Directory.GetFiles(corpus, "*.conf").Order(StringComparer.Ordinal))
        {
            var original = File.ReadAllText(file);
            for (var i = 0; i < MutationsPerFile; i++)
            {
                var mutated = Mutate(original, random);
                JobParseResult result;
                try
                {
                    result = JobParser.Parse("fuzz", FuzzPath, mutated);
                }
                catch (Exception e)
                {
                    Assert.Fail($"{Path.GetFileName(file)} mutation {i} threw {e}\n--- input ---\n{mutated}");
                    return;
                }

                Assert.That(result.Job is null != (result.Error is null), Is.True, "exactly one of Job and Error");
                if (result.Error is { } error)
                {
                    rejected++;
                    Assert.That(error.ToString(), Does.Match(located), () => $"--- input ---\n{mutated}");
                    Assert.That(error.Line, Is.InRange(1, mutated.Count(c => c == '\n') + 1));
                }
                else
                {
                    parsed++;
                }
            }
        }

        stopwatch.Stop();
        Assert.That(parsed + rejected, Is.EqualTo(64 * MutationsPerFile));
        Assert.That(parsed, Is.GreaterThan(0), "some mutations are harmless");
        Assert.That(rejected, Is.GreaterThan(0), "some mutations break the file");
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "parsing must stay linear-ish");
    }

    [Test]
    public void PathologicalInputsStayFast()
    {
        var inputs = new[]
        {
            "start on " + new string('(', 20000) + "a" + new string(')', 20000) + "\n",
            "start on " + string.Join(" and ", Enumerable.Repeat("a", 20000)) + "\n",
            "env A=\"" + new string('\\', 40001) + "\n",
            "script\n" + string.Concat(Enumerable.Repeat("  x\n", 50000)),
            string.Concat(Enumerable.Repeat("env A=" + new string('"', 2) + "\\\n", 20000)) + "\n",
        };
        var stopwatch = Stopwatch.StartNew();
        foreach (var input in inputs)
        {
            var result = JobParser.Parse("p", "p.conf", input);
            Assert.That(result.Job is not null || result.Error is not null, Is.True);
        }
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    private static string Mutate(string text, Random random)
    {
        var builder = new StringBuilder(text);
        var edits = random.Next(1, 4);
        for (var e = 0; e < edits; e++)
        {
            switch (random.Next(5))
            {
                case 0 when builder.Length > 0:   // flip a byte to a random printable or control character
                    builder[random.Next(builder.Length)] = (char)random.Next(1, 128);
                    break;
                case 1:
                    builder.Insert(random.Next(builder.Length + 1), Insertions[random.Next(Insertions.Length)]);
                    break;
                case 2:
                case 3:
                    var lines = builder.ToString().Split('\n').ToList();
                    var index = random.Next(lines.Count);
                    if (random.Next(2) == 0 && lines.Count > 1) lines.RemoveAt(index);
                    else lines.Insert(index, lines[index]);
                    builder.Clear().AppendJoin('\n', lines);
                    break;
                default:   // truncate: unterminated blocks and quotes at end of file
                    builder.Length = random.Next(builder.Length + 1);
                    break;
            }
        }
        return builder.ToString();
    }
}
