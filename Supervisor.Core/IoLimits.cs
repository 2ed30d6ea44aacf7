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
}
