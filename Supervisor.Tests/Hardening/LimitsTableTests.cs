using System.Globalization;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Hardening;

/// <summary>docs/security.md's Limits table says what <see cref="Limits"/> holds, row by row.</summary>
[TestFixture]
[Category("Hardening")]
public sealed class LimitsTableTests
{
    // As the table writes numbers: 4096, 10 000.
    private static string N(long value) =>
        value < 10_000 ? value.ToString(CultureInfo.InvariantCulture) : value.ToString("#,0", CultureInfo.InvariantCulture).Replace(',', ' ');

    /// <summary>Each row's first column, and what its "default" column must start with.</summary>
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["job file size (`.conf`, `.override`)"] = Limits.Bytes(Limits.MaxJobFileBytes),
        ["stanzas in one job file"] = N(Limits.MaxStanzasPerFile),
        ["`start grace SECONDS`"] = $"above 0, at most {N((long)Limits.MaxStartGraceSeconds)} s",
        ["`health interval`, `health timeout`"] =
            $"at least {Limits.MinHealthSeconds.ToString(CultureInfo.InvariantCulture)} s (ten checks a second at most), at most {N((long)Limits.MaxHealthSeconds)} s",
        ["`health start-period`"] = $"0 to {N((long)Limits.MaxHealthSeconds)} s",
        ["`health retries`"] = $"1 to {N(Limits.MaxHealthRetries)}",
        ["events in one `start on`/`stop on`"] = N(Limits.MaxExpressionOperands),
        ["parentheses open at once in one expression"] = N(Limits.MaxExpressionDepth),
        ["env-file size"] = Limits.Bytes(Limits.MaxEnvFileBytes),
        ["env-file line length"] = Limits.Bytes(Limits.MaxEnvFileLineBytes) + " (characters)",
        ["variables in one env-file"] = N(Limits.MaxEnvFileVariables),
        ["one request message"] = Limits.Bytes(Limits.MaxRequestBytes),
        ["variables in one request"] = N(Limits.MaxRequestVariables),
        ["one `KEY=VALUE` in a request"] = Limits.Bytes(Limits.MaxVariableBytes + 1) + " − 1 byte",
        ["a job, instance or event name in a request"] = Limits.Bytes(Limits.MaxNameBytes),
        ["events in flight (emitted, not finished)"] = N(Limits.MaxEventsInFlight),
        ["`goals.json` size"] = Limits.Bytes(Limits.MaxGoalsFileBytes),
        ["entries in each `goals.json` list"] = N(Limits.MaxGoalsEntries),
        ["the state a re-exec hands over (its memfd)"] = Limits.Bytes(Limits.MaxHandoverBytes),
        ["a log line held for a reply (`supctl log`, `show`)"] = Limits.Bytes(Limits.MaxHeldLogLineBytes),
        ["a line kept for a failure message"] = $"{Limits.Bytes(Limits.MaxFailureLineBytes)}, last {Limits.FailureLines} lines",
        ["control connections from one uid"] = N(Limits.MaxConnectionsPerUser) + " ",
        ["control connections in all"] = N(Limits.MaxConnections) + " ",
        ["fd reserve"] = N(Limits.FdReserve) + ",",
        ["accept fails with EMFILE"] = "—",
        ["an idle connection (no call in flight)"] = $"{Limits.IdleConnectionTimeout.TotalSeconds} s",
        ["calls at once on one connection"] = N(Limits.MaxStreamsPerConnection),
        ["request headers"] = $"{Limits.MaxRequestHeaderCount} headers, {Limits.Bytes(Limits.MaxRequestHeaderBytes)}",
        ["request body"] = Limits.Bytes(Limits.MaxRequestBodyBytes),
        ["HTTP listener connections"] = N(Limits.MaxHttpConnections),
        ["instances described by /metrics and the status page"] = N(Limits.MaxObservedInstances),
        ["log lines on the status page"] = $"{Limits.StatusLogLines} per instance, {Limits.MaxStatusLogLineChars} characters each, from the last {Limits.Bytes(Limits.StatusLogTailBytes)} of the log",
        ["pids read from one job cgroup to signal them"] = N(Limits.MaxPidsPerGroup),
        ["a job instance's name in its cgroup's name"] = N(Limits.MaxCgroupNameChars) + " (characters",
        ["generations below supd searched for tagged processes (process-group mode)"] = N(Limits.MaxTagScanDepth),
        ["a process's environment searched for a job's tag (/proc/PID/environ)"] =
            $"{Limits.Bytes(Limits.MaxEnvironScanBytes)}, values of {Limits.Bytes(Limits.MaxEnvironValueBytes)}",
        ["a /proc or cgroup file read for a job's figures (`status`, `show`, `top`, /metrics)"] = Limits.Bytes(Limits.MaxProcFileBytes),
        ["one thread's list of children read (/proc/PID/task/TID/children)"] = Limits.Bytes(Limits.MaxChildrenListBytes),
        ["processes summed into one job's figures (process-group mode)"] = N(Limits.MaxFigureProcesses),
        ["an exec helper's report (status pipe)"] = $"{Limits.Bytes(Limits.MaxHelperReportBytes)}, {Limits.HelperReportTimeout.TotalSeconds:0} s",
        ["one fork-server request (the helper's words and the job's environment)"] =
            $"{Limits.Bytes(Limits.MaxForkRequestBytes)}, {Limits.ForkServerReplyTimeout.TotalSeconds:0} s for its answer",
        ["job output pipes kept across a crash of supd (fd holder, systemd's fd store)"] = N(Limits.MaxKeptPipes),
        ["one fd holder message (`KEEP name`, `FORGET name`, `LIST`, `RELEASE`)"] = Limits.Bytes(Limits.MaxHolderMessageBytes),
    };

    private static Dictionary<string, string> Table()
    {
        var lines = File.ReadAllLines(Path.Combine(Binaries.RepositoryRoot, "docs", "security.md"));
        var start = Array.IndexOf(lines, "## Limits");
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "docs/security.md has no Limits section");
        var rows = new Dictionary<string, string>();
        foreach (var line in lines.Skip(start + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).Skip(2))
        {
            var cells = line.Split('|');
            rows[cells[1].Trim()] = cells[2].Trim();
        }
        return rows;
    }

    [Test]
    public void EveryRowSaysWhatLimitsHolds()
    {
        var table = Table();
        Assert.That(table.Keys, Is.EquivalentTo(Expected.Keys), "a row without its constant here, or a constant whose row went");
        foreach (var (row, value) in Expected)
            Assert.That(table[row], Does.StartWith(value), row);
    }
}
