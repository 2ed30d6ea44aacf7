using NUnit.Framework;
using Supervisor.Core.Events;

namespace Supervisor.Tests.Core.Events;

[TestFixture]
public sealed class EnvironmentExpanderTests
{
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["FOO"] = "foo",
        ["BAR"] = "bar",
        ["EMPTY"] = "",
        ["NAME"] = "FOO",
        ["INTERFACE"] = "eth0",
    };

    private static string? Lookup(string name) => Environment.GetValueOrDefault(name);

    private static string Expand(string text)
    {
        Assert.That(EnvironmentExpander.TryExpand(text, Lookup, out var result, out var error), Is.True, () => error ?? "");
        Assert.That(error, Is.Null);
        return result;
    }

    private static string ExpandError(string text)
    {
        Assert.That(EnvironmentExpander.TryExpand(text, Lookup, out _, out var error), Is.False);
        return error!;
    }

    [TestCase("plain", "plain")]
    [TestCase("$FOO", "foo")]
    [TestCase("a${FOO}b", "afoob")]
    [TestCase("$FOO/$BAR", "foo/bar")]
    [TestCase("$FOObar", "")]                        // placeholder, replaced below: name is FOObar
    [TestCase("${MISSING:-def}", "def")]
    [TestCase("${EMPTY:-def}", "def")]               // ':-' also replaces empty
    [TestCase("${EMPTY-def}", "")]                   // '-' only replaces unset
    [TestCase("${MISSING-def}", "def")]
    [TestCase("${FOO:-def}", "foo")]
    [TestCase("${FOO:+alt}", "alt")]
    [TestCase("${EMPTY:+alt}", "")]
    [TestCase("${EMPTY+alt}", "alt")]
    [TestCase("${MISSING+alt}", "")]
    [TestCase("${}", "$")]
    [TestCase("${${NAME}}", "foo")]                  // nested
    [TestCase("${MISSING:-$BAR}", "bar")]
    [TestCase("${MISSING:-${FOO}-x}", "foo-x")]
    [TestCase("$$", "$$")]                           // '$' not followed by a letter, '_' or '{' is literal
    [TestCase("$1", "$1")]
    [TestCase("cost $", "cost $")]
    [TestCase("a-$INTERFACE", "a-eth0")]
    public void Expands(string text, string expected)
    {
        if (text == "$FOObar")
        {
            Assert.That(ExpandError(text), Is.EqualTo("Unknown parameter: FOObar"), "names run to the first non-alphanumeric");
            return;
        }
        Assert.That(Expand(text), Is.EqualTo(expected));
    }

    [TestCase("$MISSING", "Unknown parameter: MISSING")]
    [TestCase("${MISSING}", "Unknown parameter: MISSING")]
    [TestCase("${FOO:-$MISSING}", "Unknown parameter: MISSING")]   // the operand is expanded even when unused (Upstart)
    [TestCase("${FOO", "Mismatched braces")]
    [TestCase("${FOO:-x", "Mismatched braces")]
    [TestCase("${FOO:x}", "Expected operator")]
    [TestCase("${FOO=x}", "Illegal parameter: FOO=x")]   // the name runs to } : - or +, so '=' makes it invalid
    [TestCase("${:-x}", "Illegal parameter: ")]
    public void Errors(string text, string expected) => Assert.That(ExpandError(text), Is.EqualTo(expected));

    [Test]
    public void SpecExamplesForStartOn()
    {
        // start on expands against an empty environment (spec §5.5, C56).
        Assert.That(EnvironmentExpander.TryExpand("$WANT", _ => null, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("Unknown parameter: WANT"));
        Assert.That(EnvironmentExpander.TryExpand("${WANT:-yes}", _ => null, out var value, out _), Is.True);
        Assert.That(value, Is.EqualTo("yes"));
        // stop on net-device-removed INTERFACE=$INTERFACE against the instance environment.
        Assert.That(Expand("$INTERFACE"), Is.EqualTo("eth0"));
    }
}
