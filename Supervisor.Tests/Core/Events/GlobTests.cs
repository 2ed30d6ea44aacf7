using NUnit.Framework;
using Supervisor.Core.Events;

namespace Supervisor.Tests.Core.Events;

[TestFixture]
public sealed class GlobTests
{
    [TestCase("foo", "foo", true)]
    [TestCase("foo", "fo", false)]
    [TestCase("foo", "fooo", false)]
    [TestCase("", "", true)]
    [TestCase("*", "", true)]
    [TestCase("*", "anything/at/all", true)]
    [TestCase("/a*", "/a/b/c", true)]            // C55: * crosses '/'
    [TestCase("sd[a-c]*", "sdb1", true)]         // C55
    [TestCase("sd[a-c]*", "sdd1", false)]
    [TestCase("[2345]", "2", true)]              // C52
    [TestCase("[2345]", "0", false)]
    [TestCase("[!2345]", "0", true)]
    [TestCase("[!2345]", "3", false)]
    [TestCase("[^2345]", "6", true)]
    [TestCase("?", "a", true)]
    [TestCase("?", "", false)]
    [TestCase("a?c", "abc", true)]
    [TestCase("*.conf", ".hidden.conf", true)]   // leading dots are not special
    [TestCase("?hidden", ".hidden", true)]
    [TestCase("*-device-added", "block-device-added", true)]
    [TestCase("a*b*c", "aXbYbZc", true)]
    [TestCase("a*b*c", "aXbYbZ", false)]
    [TestCase("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    [TestCase("\\*", "*", true)]
    [TestCase("\\*", "x", false)]
    [TestCase("a\\?", "a?", true)]
    [TestCase("[]]", "]", true)]
    [TestCase("[!]]", "a", true)]
    [TestCase("[a-]", "-", true)]
    [TestCase("[", "[", true)]                   // unterminated bracket is a literal '['
    [TestCase("[abc", "[abc", true)]
    [TestCase("[[:digit:]]x", "7x", true)]
    [TestCase("[[:alpha:]]", "7", false)]
    [TestCase("[\\]]", "]", true)]
    [TestCase("FOO", "foo", false)]              // case-sensitive
    public void Match(string pattern, string text, bool expected) =>
        Assert.That(Glob.Match(pattern, text), Is.EqualTo(expected), $"'{pattern}' vs '{text}'");

    [Test]
    public void LongInputsAreFast()
    {
        var text = new string('a', 100_000);
        var pattern = string.Concat(Enumerable.Repeat("*a", 50)) + "b";
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        Assert.That(Glob.Match(pattern, text), Is.False);
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
