using NUnit.Framework;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>conformance-cases.md section A (lexical rules) and B (script blocks).</summary>
[TestFixture]
public sealed class ConformanceLexicalTests
{
    [Test]
    public void C01_CommentsAndTrailingComments()
    {
        var job = JobAssert.Parses("# leading comment\n   # indented comment\ndescription \"svc one\"   # trailing comment\nexec /bin/sleep 60 # comment after exec\n");
        Assert.That(job.Description, Is.EqualTo("svc one"));
        Assert.That(job.Main, Is.EqualTo(ProcessCommand.Exec("/bin/sleep 60", 4)));
    }

    [Test]
    public void C02_UnquotedMultiWordValue()
    {
        var error = JobAssert.Fails("description My service\n");
        Assert.That(error.ToString(), Does.StartWith("x.conf:1: Unexpected token"));
        Assert.That(error.Message, Does.Contain("'service'").And.Contain("description"));
    }

    [Test]
    public void C04_QuotesRemovedAnywhereInAToken()
    {
        var job = JobAssert.Parses("env K=mid\"dle quo\"ted\nenv D='single quoted'\n");
        Assert.That(job.Env, Is.EqualTo(new[] { "K=middle quoted", "D=single quoted" }));
    }

    [Test]
    public void C05_ContinuationInsideATokenInsertsOneSpace()
    {
        Assert.That(JobAssert.Parses("env B=abc\\\ndef\n").Env, Is.EqualTo(new[] { "B=abc def" }));
        Assert.That(JobAssert.Parses("exec echo first \\\n    second\n").Main!.Text, Is.EqualTo("echo first second"));
    }

    [Test]
    public void C07_HashEndsATokenEvenWithoutWhitespace()
    {
        Assert.That(JobAssert.Parses("env C=x#y\n").Env, Is.EqualTo(new[] { "C=x" }));
        Assert.That(JobAssert.Parses("exec echo foo#bar\n").Main!.Text, Is.EqualTo("echo foo"));
    }

    [Test]
    public void C08_HashInsideQuotesIsLiteral()
    {
        Assert.That(JobAssert.Parses("env C=\"x#y\"\n").Env, Is.EqualTo(new[] { "C=x#y" }));
        Assert.That(JobAssert.Parses("exec echo \"a # b\" # real comment\n").Main!.Text, Is.EqualTo("echo \"a # b\""));
    }

    [Test]
    public void C10_QuotedStringSpanningLines()
    {
        Assert.That(JobAssert.Parses("env E=\"multi\n   line\"\n").Env, Is.EqualTo(new[] { "E=multi line" }));
    }

    [Test]
    public void C11_UnterminatedQuote()
    {
        var error = JobAssert.Fails("env FOO=\"unterminated\nexec true\n");
        Assert.That(error.ToString(), Does.StartWith("x.conf:3: Unterminated quoted string"));
    }

    [Test]
    public void C13_EscapedBackslashAndEscapedSpace()
    {
        var job = JobAssert.Parses("env G=a\\\\b\nenv F=a\\ b\n");
        Assert.That(job.Env, Is.EqualTo(new[] { "G=a\\b", "F=a b" }));
    }

    /// <summary>We keep <c>\"</c> as written and never corrupt the space before it (libnih gives <c>a\\"b\" c</c>).</summary>
    [Test]
    public void C14_EscapedQuoteInsideQuotesIsKeptVerbatimWithoutTheLibnihQuirk()
    {
        Assert.That(JobAssert.Parses("env A=\"a \\\"b\\\" c\"\n").Env, Is.EqualTo(new[] { "A=a \\\"b\\\" c" }));
    }

    [TestCase("Exec /bin/true\n")]
    [TestCase("\"exec\" /bin/true\n")]
    public void C16_StanzaNamesAreCaseSensitiveAndNotDequoted(string text)
    {
        JobAssert.FailsWith(text, "Unknown stanza", 1);
    }

    [Test]
    public void C17_CrlfLineEndings()
    {
        var job = JobAssert.Parses("task\r\nexec /bin/echo crlf\r\n");
        Assert.That(job.Task, Is.True);
        Assert.That(job.Main!.Text, Is.EqualTo("/bin/echo crlf"));
        var script = JobAssert.Parses("script\r\necho in-script\r\nend script\r\n").Main!;
        Assert.That(script.Text, Is.EqualTo("echo in-script\r\n"), "CR inside a script reaches the shell unchanged");
    }

    [Test]
    public void TrailingBackslashAtEndOfFile()
    {
        JobAssert.FailsWith("env A=b\\", "Trailing slash in file", 1);
    }

    [Test]
    public void EmptyQuotedArgumentIsExpectedToken()
    {
        JobAssert.FailsWith("description \"\"\n", "Expected token", 1);
    }

    // ---- B. Script blocks ----

    [Test]
    public void C19_IndentedEndScriptAndTrailingComment()
    {
        var job = JobAssert.Parses("task\nscript\n    echo \"line1\"\n      echo \"more\"\n    end script   # done\n");
        Assert.That(job.Main, Is.EqualTo(ProcessCommand.Script("echo \"line1\"\n  echo \"more\"\n", 2)));
    }

    [Test]
    public void C20_BlankLineDisablesIndentationStripping()
    {
        var job = JobAssert.Parses("script\n\techo a\n\n\techo b\nend script\n");
        Assert.That(job.Main!.Text, Is.EqualTo("\techo a\n\n\techo b\n"));
        var stripped = JobAssert.Parses("script\n\tcat <<X\n\tdata\n\tX\nend script\n");
        Assert.That(stripped.Main!.Text, Is.EqualTo("cat <<X\ndata\nX\n"));
    }

    [TestCase("script\n echo\nEnd Script\n")]
    [TestCase("script\n echo\nend script foo\n")]
    [TestCase("script\n echo\nendscript\n")]
    [TestCase("script\n echo\nend scripts\n")]
    public void C22_NotQuiteTerminators(string text)
    {
        var error = JobAssert.Fails(text);
        Assert.That(error.Message, Does.StartWith("Unterminated block"));
        Assert.That(error.Line, Is.EqualTo(4), "reported at the end of the file");
    }

    [Test]
    public void C23_TextAfterScript()
    {
        var error = JobAssert.Fails("script echo hi\nend script\n");
        Assert.That(error.ToString(), Does.StartWith("x.conf:1: Unexpected token"));
        Assert.That(JobAssert.Parses("script # comment\necho hi\nend script\n").Main!.Text, Is.EqualTo("echo hi\n"));
    }

    [Test]
    public void C25_EmptyScript()
    {
        Assert.That(JobAssert.Parses("script\nend script\n").Main, Is.EqualTo(ProcessCommand.Script("", 1)));
    }

    [Test]
    public void C26_SingleLineScript()
    {
        var job = JobAssert.Parses("task\nscript\n  cat /proc/$$/cmdline\nend script\n");
        Assert.That(job.Main, Is.EqualTo(ProcessCommand.Script("cat /proc/$$/cmdline\n", 2)));
    }

    [Test]
    public void EndScriptAtEndOfFileWithoutNewline()
    {
        Assert.That(JobAssert.Parses("pre-start script\n  a\n  b\nend script").PreStart!.Text, Is.EqualTo("a\nb\n"));
    }
}
