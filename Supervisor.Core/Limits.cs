namespace Supervisor.Core;

/// <summary>
/// Every bound supd puts on input it did not write itself, in one place so that docs/security.md's "Limits" table
/// and the code agree. Each is checked before the data is held (a file's size with fstat before it is read, a
/// request's variables before the loop sees them); going over one fails that file, job or request with a message
/// naming the limit, never supd.
/// </summary>
public static class Limits
{
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

    /// <summary>One env-file: larger fails that job's start.</summary>
    public const long MaxEnvFileBytes = 1024 * 1024;

    /// <summary>One line of an env-file.</summary>
    public const int MaxEnvFileLineBytes = 128 * 1024;

    /// <summary>Variables in one env-file.</summary>
    public const int MaxEnvFileVariables = 4096;

    /// <summary>
    /// One <c>KEY=VALUE</c> variable, in a request or an env-file: Linux's MAX_ARG_STRLEN (one environment string
    /// including its NUL; execve refuses a longer one with E2BIG).
    /// </summary>
    public const int MaxVariableBytes = 128 * 1024 - 1;

    /// <summary>Variables in one request (start, stop, restart, reload, status, emit, log).</summary>
    public const int MaxRequestVariables = 4096;

    /// <summary>A job, instance or event name in a request.</summary>
    public const int MaxNameBytes = 4096;

    /// <summary>
    /// Events emitted and not yet finished (pending, or held by a job). An <c>emit</c> past it is refused; the
    /// loop's own events (job events, boot events) are never refused, so a flood cannot block supervision.
    /// </summary>
    public const int MaxEventsInFlight = 10_000;

    /// <summary>One gRPC message to supd (Kestrel/gRPC refuse a larger one with RESOURCE_EXHAUSTED before it is parsed).</summary>
    public const int MaxRequestBytes = 1024 * 1024;

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
