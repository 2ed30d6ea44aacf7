using System.Reflection;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Language;

/// <summary>Helpers shared by the language tests: parsing shortcuts, structural job equality, corpus location.</summary>
internal static class JobAssert
{
    public static JobDefinition Parses(string text, string name = "x")
    {
        var result = JobParser.Parse(name, name + ".conf", text);
        Assert.That(result.Error, Is.Null, () => $"unexpected error: {result.Error}");
        return result.Job!;
    }

    public static ParseError Fails(string text, string name = "x")
    {
        var result = JobParser.Parse(name, name + ".conf", text);
        Assert.That(result.Job, Is.Null, "the job should have been rejected");
        return result.Error!;
    }

    /// <summary>Asserts a rejection whose message starts with Upstart's text (and optionally at a given line).</summary>
    public static void FailsWith(string text, string upstartMessage, int? line = null)
    {
        var error = Fails(text);
        Assert.That(error.Message, Does.StartWith(upstartMessage), error.ToString());
        if (line is not null)
            Assert.That(error.Line, Is.EqualTo(line), error.ToString());
    }

    /// <summary>Differences between two jobs, ignoring SourcePath/OverridePath and process line numbers; empty when equal.</summary>
    public static List<string> Differences(JobDefinition expected, JobDefinition actual)
    {
        var differences = new List<string>();
        foreach (var property in typeof(JobDefinition).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name is nameof(JobDefinition.SourcePath) or nameof(JobDefinition.OverridePath))
                continue;
            var a = property.GetValue(expected);
            var b = property.GetValue(actual);
            if (!ValuesEqual(a, b))
                differences.Add($"{property.Name}: expected <{Show(a)}> but was <{Show(b)}>");
        }
        return differences;
    }

    public static void AreEquivalent(JobDefinition expected, JobDefinition actual) =>
        Assert.That(Differences(expected, actual), Is.Empty);

    private static bool ValuesEqual(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (ProcessCommand x, ProcessCommand y) => x.IsScript == y.IsScript && x.Text == y.Text,
        (IReadOnlyDictionary<string, ResourceLimit> x, IReadOnlyDictionary<string, ResourceLimit> y) =>
            x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v == kv.Value),
        (string x, string y) => x == y,
        (System.Collections.IEnumerable x, System.Collections.IEnumerable y) =>
            x.Cast<object?>().SequenceEqual(y.Cast<object?>()),
        _ => a.Equals(b),
    };

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => s,
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>()) + "]",
        _ => value.ToString() ?? "",
    };

    /// <summary>The 64 real job files in <c>Supervisor.Tests/TestData/upstart-corpus</c> (sources and licences in its SOURCES.md).</summary>
    public static string CorpusDirectory { get; } = Path.Combine(Binaries.RepositoryRoot, "Supervisor.Tests", "TestData", "upstart-corpus");
}
