using NUnit.Framework;
using Supervisor.Core.Events;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>conformance-cases.md section E (event expressions), parse side; matching is tested with Glob.</summary>
[TestFixture]
public sealed class ConformanceEventTests
{
    private static EventExpression StartOn(string text) => JobAssert.Parses(text).StartOn!;

    [TestCase("start on a or b and c\n", "((a or b) and c)")]
    [TestCase("start on a and b or c\n", "((a and b) or c)")]
    [TestCase("start on a and (b or c)\n", "(a and (b or c))")]
    [TestCase("start on a or b or c or d\n", "(((a or b) or c) or d)")]
    public void C50_NoOperatorPrecedence(string text, string expected) =>
        Assert.That(StartOn(text).ToString(), Is.EqualTo(expected));

    [Test]
    public void C50_TreeIsLeftLeaning()
    {
        var expected = new EventAnd(new EventOr(new EventMatch("a"), new EventMatch("b")), new EventMatch("c"));
        Assert.That(StartOn("start on a or b and c\n"), Is.EqualTo(expected));
    }

    [Test]
    public void C52_NegatedGlobClassOnRunlevel()
    {
        var job = JobAssert.Parses("start on runlevel [2345]\nstop on runlevel [!2345]\nexec sleep 1000\n");
        Assert.That(job.StartOn, Is.EqualTo(new EventMatch("runlevel", [EventArgument.Positional("[2345]")])));
        Assert.That(job.StopOn!.ToString(), Is.EqualTo("runlevel [!2345]"));
        Assert.That(Glob.Match("[!2345]", "0"), Is.True);
        Assert.That(Glob.Match("[2345]", "2"), Is.True);
    }

    [Test]
    public void C53_NegatedNamedArgument()
    {
        Assert.That(StartOn("start on ev1 KEY!=x\n"), Is.EqualTo(new EventMatch("ev1", [EventArgument.Named("KEY", "x", negated: true)])));
        Assert.That(StartOn("start on ev1 KEY!=x\n").ToString(), Is.EqualTo("ev1 KEY!=x"));
    }

    [Test]
    public void C55_GlobsAreFnmatchWithoutFlags()
    {
        Assert.That(StartOn("start on ev5 DEV=sd[a-c]*\n"), Is.EqualTo(new EventMatch("ev5", [EventArgument.Named("DEV", "sd[a-c]*")])));
        Assert.That(Glob.Match("sd[a-c]*", "sdb1"), Is.True);
        Assert.That(Glob.Match("/a*", "/a/b/c"), Is.True, "* crosses /");
    }

    [Test]
    public void C56_VariablesInStartOnAreKeptUnexpanded()
    {
        var job = JobAssert.Parses("env WANT=yes\nstart on ev2 KEY=$WANT\n");
        Assert.That(job.StartOn, Is.EqualTo(new EventMatch("ev2", [EventArgument.Named("KEY", "$WANT")])));
        // start on expands against an empty environment: $WANT is an error (no match), the default form works.
        Assert.That(EnvironmentExpander.TryExpand("$WANT", _ => null, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("Unknown parameter: WANT"));
        Assert.That(EnvironmentExpander.TryExpand("${WANT:-yes}", _ => null, out var value, out _), Is.True);
        Assert.That(value, Is.EqualTo("yes"));
    }

    [TestCase("start on a or or b\n", "Expected event")]
    [TestCase("start on or a\n", "Expected event")]
    [TestCase("start on a and\n", "Expected event")]
    [TestCase("start on ()\n", "Expected event")]
    [TestCase("start on a (b)\n", "Expected operator")]
    [TestCase("start on (a) b\n", "Expected operator")]
    [TestCase("start on (a and b))\n", "Mismatched parentheses")]
    [TestCase("start on a X=1 y\n", "Expected variable name before value")]
    [TestCase("start on a and\n b\n", "Expected event")]
    public void C58_ParseErrorsInExpressions(string text, string message) => JobAssert.FailsWith(text, message);

    // Upstart blames the line of the last token read, not the line where the parser noticed the expression had ended.
    [TestCase("start on foo or\nexec true\n", "Expected event", 1)]
    [TestCase("stop on foo or\nexec true\n", "Expected event", 1)]
    [TestCase("start on a and\n b\n", "Expected event", 1)]
    [TestCase("start on (foo or\n bar) frodo\nexec true\n", "Expected operator", 2)]
    [TestCase("stop on (foo or\n bar) frodo\nexec true\n", "Expected operator", 2)]
    [TestCase("exec true\nstart on (foo or\n\tbar\n) and\ntask\n", "Expected event", 4)]
    [TestCase("start on foo or or bar\n", "Expected event", 1)]
    public void C58_AnExpressionErrorNamesTheLineOfTheLastTokenRead(string text, string message, int line) =>
        JobAssert.FailsWith(text, message, line);

    [Test]
    public void C58_UnclosedParenthesisSwallowsTheRestOfTheFile()
    {
        var error = JobAssert.Fails("start on (a\nexec foo\ntask\n");
        Assert.That(error.Message, Does.StartWith("Mismatched parentheses"));
        Assert.That(error.Line, Is.EqualTo(4), "reported at the end of the file");
    }

    [Test]
    public void C59_MultiLineParentheses()
    {
        Assert.That(StartOn("start on (a\n          or b) # trailing comment ok\n").ToString(), Is.EqualTo("(a or b)"));
        JobAssert.FailsWith("start on (a and\n# commented-out clause\n          b)\n", "Expected token", 2);
        JobAssert.FailsWith("start on (a and\n\n          b)\n", "Expected token", 2);
        JobAssert.FailsWith("start on (a or b)\n  and c\n", "Unknown stanza", 2);
    }

    [Test]
    public void C61_RealWorldTypoParses()
    {
        var expected = new EventMatch("start", [EventArgument.Positional("on"), EventArgument.Positional("runlevel"), EventArgument.Positional("[2345]")]);
        Assert.That(StartOn("start on start on runlevel [2345]\n"), Is.EqualTo(expected));
    }

    [Test]
    public void C62_EventNamesAreKeptLiterally()
    {
        Assert.That(StartOn("start on *-device-added\n"), Is.EqualTo(new EventMatch("*-device-added")));
    }

    [Test]
    public void QuotedOperatorIsAnEventName()
    {
        Assert.That(StartOn("start on a \"and\"\n"), Is.EqualTo(new EventMatch("a", [EventArgument.Positional("and")])));
        Assert.That(StartOn("start on \"or\"\n"), Is.EqualTo(new EventMatch("or")));
    }

    [Test]
    public void ValuesAreDequoted()
    {
        Assert.That(StartOn("start on mounted MOUNTPOINT=\"/a b\"\n"),
            Is.EqualTo(new EventMatch("mounted", [EventArgument.Named("MOUNTPOINT", "/a b")])));
    }

    [Test]
    public void BackslashContinuationOutsideParentheses()
    {
        Assert.That(StartOn("start on a and \\\n  b\n").ToString(), Is.EqualTo("(a and b)"));
    }
}
