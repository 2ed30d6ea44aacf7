namespace Supervisor.Core;

/// <summary>
/// Every bound supd puts on what it did not write itself (files, requests, events, logs, connections), in one place so
/// that docs/security.md's "Limits" table and the code agree; grouped by concern in the table's order. Each is checked
/// before the data is held (a file's size with fstat before it is read, a request's variables before the loop sees
/// them); going over one fails that file, job, request or connection with a message naming the limit, never supd.
/// </summary>
public static class Limits
{
    #region Job files and the job language

    /// <summary>A job file (<c>.conf</c>, <c>.override</c>): larger is rejected alone, the other jobs load.</summary>
    public const long MaxJobFileBytes = 1024 * 1024;

    /// <summary>Stanzas in one job file (each <c>env</c>, <c>export</c>, … line counts).</summary>
    public const int MaxStanzasPerFile = 4096;

    /// <summary>Events named in one <c>start on</c>/<c>stop on</c> expression.</summary>
    public const int MaxExpressionOperands = 1024;

    /// <summary>
    /// Parentheses open at once in one expression. Nothing recurses over parentheses (the tree's depth is bounded by
    /// <see cref="MaxExpressionOperands"/>), but show-config prints a chain of N events with N-1 nested ones, which
    /// must parse back: so this is the operand limit.
    /// </summary>
    public const int MaxExpressionDepth = MaxExpressionOperands;

    /// <summary>The longest <c>start grace</c>: a start that waits longer than an hour is no longer a start.</summary>
    public const double MaxStartGraceSeconds = 3600;

    /// <summary>The shortest <c>health interval</c> and <c>health timeout</c>: a check ten times a second at most.</summary>
    public const double MinHealthSeconds = 0.1;

    /// <summary>The longest <c>health interval</c>, <c>timeout</c> and <c>start-period</c>: a day.</summary>
    public const double MaxHealthSeconds = 86400;

    /// <summary>The most <c>health retries</c>.</summary>
    public const int MaxHealthRetries = 100;

    #endregion

    #region Env-files

    /// <summary>One env-file: larger fails that job's start.</summary>
    public const long MaxEnvFileBytes = 1024 * 1024;

    /// <summary>One line of an env-file.</summary>
    public const int MaxEnvFileLineBytes = 128 * 1024;

    /// <summary>Variables in one env-file.</summary>
    public const int MaxEnvFileVariables = 4096;

    #endregion

    #region Requests

    /// <summary>One gRPC message to supd (Kestrel/gRPC refuse a larger one with RESOURCE_EXHAUSTED before it is parsed).</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    /// <summary>
    /// One <c>KEY=VALUE</c> variable, in a request or an env-file: Linux's MAX_ARG_STRLEN (one environment string
    /// including its NUL; execve refuses a longer one with E2BIG).
    /// </summary>
    public const int MaxVariableBytes = 128 * 1024 - 1;

    /// <summary>Variables in one request (start, stop, restart, reload, status, emit, log).</summary>
    public const int MaxRequestVariables = 4096;

    /// <summary>A job, instance or event name in a request.</summary>
    public const int MaxNameBytes = 4096;

    #endregion

    #region Events

    /// <summary>
    /// Events emitted and not yet finished (pending, or held by a job). An <c>emit</c> past it is refused; the
    /// loop's own events (job events, boot events) are never refused, so a flood cannot block supervision.
    /// </summary>
    public const int MaxEventsInFlight = 10_000;

    #endregion

    #region State file

    /// <summary>goals.json's size (read by fstat before the file is).</summary>
    public const long MaxGoalsFileBytes = 64L * 1024 * 1024;

    /// <summary>Entries in each list of goals.json: far more than any real supd has instances.</summary>
    public const int MaxGoalsEntries = 100_000;

    /// <summary>The state one supd hands the next across a re-exec (its memfd's size, by fstat, before it is read).</summary>
    public const long MaxHandoverBytes = 256L * 1024 * 1024;

    #endregion

    #region Logs

    /// <summary>
    /// Longest log line supd holds for a reply (<c>supctl log</c>, the last lines in <c>show</c>): the rest of a longer
    /// line is replaced by <c>…[N bytes cut]</c>. The job log itself keeps every byte.
    /// </summary>
    public const int MaxHeldLogLineBytes = 64 * 1024;

    /// <summary>A line a failed process wrote, kept for its failure message (<c>OutputTail</c>); longer is cut.</summary>
    public const int MaxFailureLineBytes = 4096;

    /// <summary>Lines of a failed process kept for its failure message.</summary>
    public const int FailureLines = 10;

    #endregion

    #region Containment

    /// <summary>Pids read from one cgroup's cgroup.procs to signal them (SIGKILL goes through cgroup.kill, which has no bound).</summary>
    public const int MaxPidsPerGroup = 65536;

    /// <summary>Characters of a job instance's name in its cgroup's name (escaped; the rest is cut, a unique number follows).</summary>
    public const int MaxCgroupNameChars = 128;

    /// <summary>Generations below supd searched for processes carrying a job's tag, in process-group mode.</summary>
    public const int MaxTagScanDepth = 64;

    /// <summary>Bytes of one process's environment (/proc/PID/environ) searched for a job's tag; a tag beyond them is not seen.</summary>
    public const int MaxEnvironScanBytes = 1024 * 1024;

    /// <summary>Bytes of one environment value compared with a job's tag (128 bits in hex); a longer value is not held.</summary>
    public const int MaxEnvironValueBytes = 256;

    /// <summary>Bytes read of one /proc or cgroup file for a job's figures (<c>status</c>, <c>show</c>, <c>top</c>); the kernel's are a few hundred.</summary>
    public const int MaxProcFileBytes = 64 * 1024;

    /// <summary>Bytes of one thread's list of children read (/proc/PID/task/TID/children); a longer list means a scan of /proc instead.</summary>
    public const int MaxChildrenListBytes = 1024 * 1024;

    /// <summary>Processes summed into one job's figures without a cgroup (its main, its process group, their descendants).</summary>
    public const int MaxFigureProcesses = 65536;

    /// <summary>Bytes of an exec helper's report kept (a few short lines; the rest is read to end of file and dropped).</summary>
    public const int MaxHelperReportBytes = 16 * 1024;

    /// <summary>How long an exec helper has to report before it is killed and its spawn fails (<c>NativeProcessControl.ExecHelperTimeout</c>).</summary>
    public static readonly TimeSpan HelperReportTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Bytes of one fork-server request (the helper's words and the job's environment). A spawn that needs more goes
    /// through an exec helper of its own, whose argv and environment only ARG_MAX bounds; this fits the default
    /// socket buffer (wmem_default, 208 KiB), so a send never blocks.
    /// </summary>
    public const int MaxForkRequestBytes = 128 * 1024;

    /// <summary>How long supd waits for the fork server to name a spawn's pid (it takes well under a millisecond) before it gives up on that server.</summary>
    public static readonly TimeSpan ForkServerReplyTimeout = TimeSpan.FromSeconds(2);

    /// <summary>After a fork server failed, how long spawns go through exec helpers of their own before another server is started.</summary>
    public static readonly TimeSpan ForkServerRetryDelay = TimeSpan.FromSeconds(10);

    #endregion

    #region Crash survival

    /// <summary>Job output pipes kept outside supd at once (fd holder or systemd's store) and taken back at start; more are refused.</summary>
    public const int MaxKeptPipes = 16384;

    /// <summary>Bytes of one fd holder message (<c>KEEP name</c>, <c>FD name</c>, <c>ERR reason</c>…); a longer one is refused.</summary>
    public const int MaxHolderMessageBytes = 512;

    #endregion

    #region Connections

    /// <summary>Control connections open at once, all callers together (root and supd's own user may exceed it, up to the fd reserve).</summary>
    public const int MaxConnections = 4096;

    /// <summary>Control connections open at once from one uid other than root and supd's own.</summary>
    public const int MaxConnectionsPerUser = 128;

    /// <summary>
    /// File descriptors kept free for supervision (spawning: pipes, pidfds, log files; the state file): a new
    /// connection is refused while supd has more than RLIMIT_NOFILE minus this open (a quarter of a small limit).
    /// </summary>
    public const int FdReserve = 256;

    /// <summary>An HTTP/2 connection with no request in flight is closed after this long (Kestrel's keep-alive timeout).</summary>
    public static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Streams (calls) open at once on one connection; supctl uses one.</summary>
    public const int MaxStreamsPerConnection = 32;

    /// <summary>Request headers, all together, of one call.</summary>
    public const int MaxRequestHeaderBytes = 16 * 1024;

    /// <summary>Request headers of one call.</summary>
    public const int MaxRequestHeaderCount = 64;

    /// <summary>A request body (one gRPC message and its framing).</summary>
    public const long MaxRequestBodyBytes = 8L * 1024 * 1024;

    #endregion

    #region HTTP listener (metrics and status page)

    /// <summary>Connections open at once on the HTTP listener (<c>--http</c>); one more is closed at once, counted.</summary>
    public const int MaxHttpConnections = 16;

    /// <summary>
    /// Instances /metrics and the status page describe (instance names are chosen by whoever starts them, so the
    /// series are bounded); the rest are counted in <c>supd_observed_instances_omitted</c> and named on the page.
    /// </summary>
    public const int MaxObservedInstances = 2000;

    /// <summary>Last log lines the status page shows per instance, each cut at <see cref="MaxStatusLogLineChars"/>.</summary>
    public const int StatusLogLines = 3;

    /// <summary>A log line on the status page; longer is cut (the page holds at most instances × lines × this).</summary>
    public const int MaxStatusLogLineChars = 240;

    /// <summary>The end of a log the status page reads for its last lines (a line longer than this is shown cut).</summary>
    public const int StatusLogTailBytes = 4096;

    #endregion

    /// <summary>Describes a byte count the way limit messages do: <c>1 GiB</c>, <c>1.5 MiB</c>, <c>812 bytes</c>.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? FormattableString.Invariant($"{bytes} bytes")
            : FormattableString.Invariant($"{Math.Round(value, 1)} {units[unit]}");
    }
}
