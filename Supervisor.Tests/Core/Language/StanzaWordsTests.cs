using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>The one-word stanzas' words: every mode has one, and parser and printer agree on it.</summary>
[TestFixture]
public sealed class StanzaWordsTests
{
    [Test]
    public void EveryConsoleModeHasOneWordThatParsesAndPrintsBack()
    {
        Assert.That(StanzaWords.Console.Select(w => w.Value), Is.EquivalentTo(Enum.GetValues<ConsoleMode>()));
        foreach (var (word, mode) in StanzaWords.Console)
        {
            Assert.That(mode.Name(), Is.EqualTo(word));
            var job = JobAssert.Parses($"console {word}\n");
            Assert.That(job.Console, Is.EqualTo(mode));
            Assert.That(JobPrinter.Print(job), Is.EqualTo(mode == ConsoleMode.Log ? "" : $"console {word}\n"));
        }
    }

    [Test]
    public void EveryExpectModeHasOneWordThatParsesAndPrintsBack()
    {
        Assert.That(StanzaWords.Expect.Select(w => w.Value), Is.EquivalentTo(Enum.GetValues<ExpectMode>()));
        foreach (var (word, mode) in StanzaWords.Expect)
        {
            Assert.That(mode.Name(), Is.EqualTo(word));
            var job = JobAssert.Parses($"expect {word}\n");
            Assert.That(job.Expect, Is.EqualTo(mode));
            Assert.That(JobPrinter.Print(job), Is.EqualTo(mode == ExpectMode.None ? "" : $"expect {word}\n"));
        }
    }

    [Test]
    public void AnUnknownWordNamesTheChoicesInUpstartsOrder()
    {
        JobAssert.FailsWith("console tty\n", "Unknown stanza 'console tty': expected log, none, output or owner", line: 1);
        JobAssert.FailsWith("expect spawn\n", "Unknown stanza 'expect spawn': expected stop, daemon, fork or none", line: 1);
    }
}
