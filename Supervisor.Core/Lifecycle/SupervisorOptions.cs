namespace Supervisor.Core.Lifecycle;

/// <summary>Daemon-wide settings the supervision loop needs.</summary>
public sealed class SupervisorOptions
{
    /// <summary>PATH given to jobs (Upstart's PID 1 value).</summary>
    public string DefaultPath { get; set; } = Defaults.Process.Path;

    /// <summary>TERM given to jobs (Upstart passed the kernel's, "linux").</summary>
    public string DefaultTerm { get; set; } = Defaults.Process.Term;

    /// <summary>Working directory of job processes without <c>chdir</c> (Upstart's PID 1 uses /).</summary>
    public string DefaultWorkingDirectory { get; set; } = Defaults.Process.WorkingDirectory;

    /// <summary>Set in every job's environment after PATH and TERM (supd's socket, so initctl inside a job finds it).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> JobEnvironment { get; set; } = [];

    /// <summary>
    /// Read-only requests (status, list, definitions, log path) are answered before the inputs queued ahead of them, so
    /// a busy loop never holds them up. Off, everything is answered in arrival order (the loop's unit tests, which use
    /// a list request as a barrier).
    /// </summary>
    public bool QueriesFirst { get; set; } = true;

    /// <summary>
    /// How long the loop works through the event queue before the inputs waiting behind it get their turn
    /// (<see cref="Defaults.Supervision.EventPollSlice"/>); <see cref="Timeout.InfiniteTimeSpan"/> runs it to quiescence in one go.
    /// </summary>
    public TimeSpan EventPollSlice { get; set; } = Defaults.Supervision.EventPollSlice;

    /// <summary>How long a job may take to do what its <c>expect</c> says before supd supervises it as it is.</summary>
    public TimeSpan ExpectTimeout { get; set; } = Defaults.Supervision.ExpectTimeout;

    /// <summary>How often supd looks at a job waiting on <c>expect</c> (stopped yet? forked yet?).</summary>
    public TimeSpan ExpectPollInterval { get; set; } = Defaults.Supervision.ExpectPollInterval;

    /// <summary>After an <c>expect fork|daemon</c> job's first process exits, how long its daemon may take to show up.</summary>
    public TimeSpan ExpectForkGrace { get; set; } = Defaults.Supervision.ExpectForkGrace;

    /// <summary>How long a session leader must stay an <c>expect daemon</c> job's only candidate to be taken for its daemon.</summary>
    public TimeSpan ExpectDaemonSettle { get; set; } = Defaults.Supervision.ExpectDaemonSettle;

    /// <summary>How long a failure reply waits for the failed process's output to reach end of file (a child may hold it open).</summary>
    public TimeSpan FailureOutputGrace { get; set; } = Defaults.Supervision.FailureOutputGrace;

    /// <summary>
    /// <c>respawn delay</c> for jobs that do not set one; null keeps Upstart's immediate respawn. A job's own stanza
    /// always wins.
    /// </summary>
    public Language.RespawnDelay? RespawnDelay { get; set; }

    /// <summary>Randomness for the respawn delay's jitter (tests may seed it).</summary>
    public Random Random { get; set; } = Random.Shared;

    /// <summary>How long a restart's or reload's <c>check</c> may run before it is killed and counts as failed.</summary>
    public TimeSpan CheckTimeout { get; set; } = Defaults.Supervision.CheckTimeout;

    /// <summary>Lookup for bare <c>env KEY</c> stanzas, which copy KEY from supd's own environment.</summary>
    public Func<string, string?> DaemonEnvironment { get; set; } = Environment.GetEnvironmentVariable;
}
