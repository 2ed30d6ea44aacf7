using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Core.Processes;

/// <summary>supd's env-file format: KEY=VALUE lines, comments, quotes, no expansion.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class EnvFileTests
{
    private static List<KeyValuePair<string, string>> Parse(string text)
    {
        var values = new List<KeyValuePair<string, string>>();
        Assert.That(EnvFile.TryParse(text, "/f", values, out var error), Is.True, error);
        return values;
    }

    private static string Error(string text)
    {
        Assert.That(EnvFile.TryParse(text, "/f", [], out var error), Is.False);
        return error!;
    }

    [Test]
    public void Lines_comments_quotes_and_export()
    {
        var values = Parse("""
            # a comment
              A=1
            export B = two words  
            C="quoted \"x\" \$HOME \\ \n end" # trailing comment
            D='single $HOME \n'
            E=
            F=a=b
            G=$HOME
            """);
        Assert.That(values, Is.EqualTo(new KeyValuePair<string, string>[]
        {
            new("A", "1"), new("B", "two words"), new("C", "quoted \"x\" $HOME \\ \n end"), new("D", "single $HOME \\n"),
            new("E", ""), new("F", "a=b"), new("G", "$HOME"),
        }));
    }

    [Test]
    public void Crlf_line_ends_are_accepted() =>
        Assert.That(Parse("A=1\r\nB=2\r\n"), Is.EqualTo(new KeyValuePair<string, string>[] { new("A", "1"), new("B", "2") }));

    [TestCase("A=1\nnot an assignment\n", "/f:2: expected KEY=VALUE")]
    [TestCase("1A=x\n", "/f:1: expected KEY=VALUE")]
    [TestCase("A=\"open\n", "/f:1: unterminated double quote")]
    [TestCase("A='open\n", "/f:1: unterminated single quote")]
    [TestCase("A=\"x\" y\n", "/f:1: unexpected text after the closing quote")]
    public void Malformed_lines_name_the_file_and_line(string text, string message) => Assert.That(Error(text), Is.EqualTo(message));

    [Test]
    public void A_missing_file_fails_unless_optional()
    {
        var missing = Path.Combine(Path.GetTempPath(), "supd-no-such-env-file-" + Guid.NewGuid().ToString("N"));
        Assert.That(EnvFile.TryRead([new EnvFileReference(missing, Optional: true)], out var values, out _), Is.True);
        Assert.That(values, Is.Empty);
        Assert.That(EnvFile.TryRead([new EnvFileReference(missing, Optional: false)], out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo($"unable to read env-file: {missing}: No such file or directory"));
    }
    [Test]
    public void A_FIFO_is_refused_at_once_instead_of_blocking_the_loop()
    {
        var fifo = Path.Combine(Path.GetTempPath(), "supd-env-fifo-" + Guid.NewGuid().ToString("N"));
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        try
        {
            var read = Task.Run(() => (EnvFile.TryRead([new EnvFileReference(fifo, Optional: false)], out _, out var error), error))
                .WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            Assert.That(read, Is.EqualTo((false, $"unable to read env-file: {fifo}: Not a regular file (a FIFO)")));
        }
        finally
        {
            File.Delete(fifo);
        }
    }
}
