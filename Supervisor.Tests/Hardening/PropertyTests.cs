using CsCheck;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Tests.Hardening;

/// <summary>
/// Property-based tests (CsCheck) of what users hand supd: job files, env-files and control requests. Each runs a
/// fixed number of generated inputs (a few seconds in CI); a failure prints its seed and the shrunk input. Inputs
/// that once failed are kept below (<see cref="Regressions"/>) and run as ordinary cases every time.
/// </summary>
[TestFixture, Category("Hardening")]
[Parallelizable(ParallelScope.All)]
public sealed class PropertyTests
{
    private const long Iterations = 3000;

    private static Gen<string> Str(Gen<char> chars, int min, int max) => chars.Array[min, max].Select(c => new string(c));

    /// <summary>Job file text that once broke something (crash, hang, wrong error); each must now parse or fail cleanly.</summary>
    private static readonly string[] Regressions =
    [
        "start on " + string.Join(" or ", Enumerable.Repeat("a", 300_000)) + "\n",   // stack overflow in the matcher (issue 16, 3)
        "start on " + new string('(', 100_000) + "a" + new string(')', 100_000) + "\n",
        string.Concat(Enumerable.Repeat("env A=1\n", 100_000)),                        // quadratic start-up (issue 16, 4)
        "exec echo a\0b\n",
        "start on (\n",
        "start on a and\n",
        "start on )\n",
        "script\n",
        "env \"unterminated\n",
        "start on \"and\" or 'or'\n",
        "instance $\n",
        "\\\n\\\n",
    ];

    // Words the tokenizer and stanza parser care about, plus noise.
    private static readonly Gen<string> Token = Gen.OneOf(
        Gen.OneOf<string>("start", "stop", "on", "and", "or", "(", ")", "exec", "script", "end", "env", "export", "instance",
            "respawn", "limit", "nofile", "unlimited", "kill", "timeout", "signal", "normal", "exit", "task", "console",
            "log", "expect", "fork", "daemon", "env-file", "setuid", "chdir", "emits", "manual", "pre-start", "post-stop",
            "\"", "'", "\\", "#", "\n", " ", "\t", "=", "!=", "$X", "${Y:-z}", "[2345]", "-1", "99999999999999999999", "\0"),
        Str(Gen.Char['\x01', '~'], 1, 6));

    private static readonly Gen<string> JobText = Token.Array[0, 60].Select(t => string.Concat(t));

    [Test]
    public void The_job_parser_never_throws_and_every_job_it_accepts_prints_back_to_itself()
    {
        JobText.Sample(CheckJobText, iter: Iterations, seed: null);
    }

    [TestCaseSource(nameof(Regressions))]
    public void Inputs_that_once_failed_now_parse_or_fail_with_a_line(string text) => CheckJobText(text);

    private static void CheckJobText(string text)
    {
        var result = JobParser.Parse("j", "/p.conf", text);
        if (result.Error is { } error)
        {
            Assert.That(error.Path, Is.EqualTo("/p.conf"));
            Assert.That(error.Line, Is.GreaterThanOrEqualTo(1));
            return;
        }
        var printed = JobPrinter.Print(result.Job!);
        var again = JobParser.Parse("j", "/p.conf", printed);
        Assert.That(again.Error, Is.Null, $"printed form does not parse:\n{printed}");
        Assert.That(Supervisor.Tests.Core.Language.JobAssert.Differences(result.Job!, again.Job!), Is.Empty, $"printed form parses to another job:\n{printed}");
    }

    private static readonly Gen<EventExpression> Leaf =
        Gen.Select(Gen.OneOf<string>("a", "b", "and", "(x)", "say \"hi\"", "runlevel"), Gen.OneOf<string>("", "2", "K=v*", "K!=w", "X=$Y"),
            (name, argument) => (EventExpression)(argument.Length == 0
                ? new EventMatch(name)
                : new EventMatch(name, [argument.Contains('=') ? Named(argument) : EventArgument.Positional(argument)])));

    // An expression tree of up to ~100 operands, printed and parsed back: equal, and the matcher never throws.
    private static readonly Gen<EventExpression> Expression = Gen.Recursive<EventExpression>((depth, inner) =>
        depth >= 6
            ? Leaf
            : Gen.Frequency(
                (2, (IGen<EventExpression>)Leaf),
                (1, Gen.Select(inner, inner, (l, r) => (EventExpression)new EventAnd(l, r))),
                (1, Gen.Select(inner, inner, (l, r) => (EventExpression)new EventOr(l, r)))));

    private static EventArgument Named(string text)
    {
        var negated = text.Contains("!=", StringComparison.Ordinal);
        var parts = text.Split(negated ? "!=" : "=");
        return EventArgument.Named(parts[0], parts[1], negated);
    }

    [Test]
    public void Expressions_print_and_parse_back_to_the_same_tree_and_match_without_throwing()
    {
        Gen.Select(Expression, Gen.OneOf<string>("a", "b", "runlevel")).Sample((expression, eventName) =>
        {
            var text = "start on " + JobPrinter.PrintExpression(expression) + "\n";
            var parsed = JobParser.Parse("j", "/p.conf", text);
            Assert.That(parsed.Job?.StartOn, Is.EqualTo(expression), parsed.Error?.ToString() ?? text);
            var matcher = new EventMatcher(expression);
            matcher.Handle(new Event(1, eventName, new EnvironmentList(["K=value", "RUNLEVEL=2"])), _ => null);
            _ = matcher.MatchedEvents();
            matcher.Reset();
        }, iter: Iterations, seed: null);
    }

    [Test]
    public void Env_file_parsing_never_throws_and_errors_name_path_and_line()
    {
        var line = Gen.OneOf(
            Gen.OneOf<string>("A=1", "export B=two", "# comment", "", "C=\"quoted \\\" \\n\"", "D='single'", "E=\"open", "1X=bad", "F=a b",
                "G=\"x\" trailing", "  H = spaced ", "\r"),
            Str(Gen.Char['\0', '\x7f'], 0, 20));
        line.Array[0, 30].Select(lines => string.Join('\n', lines)).Sample(text =>
        {
            var values = new List<KeyValuePair<string, string>>();
            if (!EnvFile.TryParse(text, "/e.env", values, out var error))
                Assert.That(error, Does.Match(@"^/e\.env:\d+: "));
            else
                Assert.That(values.All(v => v.Key.Length > 0 && !v.Value.Contains('\0')), Is.True);
        }, iter: Iterations, seed: null);
    }

    [Test]
    public void Env_file_values_written_with_double_quotes_read_back_exactly()
    {
        Gen.Select(Str(Gen.Char['A', 'Z'], 1, 8), Str(Gen.Char[' ', '~'], 0, 40)).Array[1, 10].Sample(pairs =>
        {
            var text = string.Concat(pairs.Select(p => $"{p.Item1}=\"{Escape(p.Item2)}\"\n"));
            var values = new List<KeyValuePair<string, string>>();
            Assert.That(EnvFile.TryParse(text, "/e.env", values, out var error), Is.True, error);
            Assert.That(values.Select(v => v.Value), Is.EqualTo(pairs.Select(p => p.Item2)));
        }, iter: Iterations, seed: null);

        static string Escape(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
                .Replace("$", "\\$", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal);
    }

    [Test]
    public void Request_limits_accept_exactly_what_is_within_them_and_refuse_only_with_a_supervisor_error()
    {
        var entry = Gen.OneOf(
            Str(Gen.Char['\0', '~'], 0, 12),
            Gen.Int[0, 3].Select(k => "K=" + new string('v', Limits.MaxVariableBytes - 3 + k)));
        Gen.Select(entry.Array[0, 8], Gen.Int[0, 2]).Sample((entries, extra) =>
        {
            var environment = extra == 2 ? entries.Concat(Enumerable.Repeat("K=V", Limits.MaxRequestVariables)).ToArray() : entries;
            var within = environment.Length <= Limits.MaxRequestVariables
                && environment.All(e => System.Text.Encoding.UTF8.GetByteCount(e) <= Limits.MaxVariableBytes && !e.Contains('\0'));
            try
            {
                RequestLimits.Check(environment, "job");
                Assert.That(within, Is.True, "accepted a request over a limit");
            }
            catch (SupervisorException refused)
            {
                Assert.That(within, Is.False, $"refused a request within the limits: {refused.Message}");
            }
        }, iter: 500, seed: null);
    }

    [Test]
    public void The_variable_rule_never_throws_and_never_admits_a_reserved_or_invalid_name()
    {
        var job = JobParser.Parse("j", "/p.conf", "instance $PORT\nscript\n  echo $PATH $LD_PRELOAD $NAME $_X1\nend script\n").Job!;
        var name = Gen.OneOf(Str(Gen.Char['\0', '~'], 0, 12), Gen.OneOf<string>("PORT", "NAME", "_X1", "PATH", "LD_PRELOAD", "LD_", "UPSTART_JOB"));
        name.Sample(n =>
        {
            var refusal = VariablePolicy.Refusal(job, n, []);
            if (VariablePolicy.IsReserved(n) || !VariablePolicy.IsName(n)) Assert.That(refusal, Is.Not.Null);
            if (n is "PORT" or "NAME" or "_X1") Assert.That(refusal, Is.Null);
        }, iter: Iterations, seed: null);
    }
}
