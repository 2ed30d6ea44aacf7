namespace Supervisor.Core;

/// <summary>
/// supd's bounds on files, logs and connections (the input bounds are in <c>Limits</c>), in one place so that
/// docs/security.md's "Limits" table and the code agree.
/// </summary>
public static class IoLimits
{
    /// <summary>
    /// Longest log line supd holds for a reply (<c>supctl log</c>, the last lines in <c>show</c>): the rest of a longer
    /// line is replaced by <c>…[N bytes cut]</c>. The job log itself keeps every byte.
    /// </summary>
    public const int MaxHeldLogLineBytes = 64 * 1024;

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
}
