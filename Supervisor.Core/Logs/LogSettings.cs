using Supervisor.Core.Language;

namespace Supervisor.Core.Logs;

/// <summary>Daemon-wide settings of the job logs; a job's own <c>log rotate</c> and <c>log timestamps</c> add to them.</summary>
public sealed record LogSettings
{
    /// <summary>How job logs rotate unless a job says <c>log rotate</c>; by default 10 MiB per file, 5 rotated files kept.</summary>
    public LogRotation Rotation { get; init; } = Defaults.Logs.Rotation;

    /// <summary>Prefix every line of every job log with an ISO-8601 time (as <c>log timestamps</c> does for one job).</summary>
    public bool Timestamps { get; init; }

    /// <summary>
    /// How many finished instances of each instance job keep their log files (with their rotated copies); older
    /// ones are removed, oldest first, as further instances finish. 0 removes a log as soon as its instance ends.
    /// </summary>
    public int InstanceLogRetention { get; init; } = Defaults.Logs.InstanceLogRetention;

    /// <summary>Where every job line is also written as <c>JOB| line</c> (supd's stdout with --log-to-stdout); null: nowhere.</summary>
    public LogMirror? Mirror { get; init; }

    /// <summary>Where every job line is also sent as a journal entry (--log-to-journal); null: nowhere.</summary>
    public JournalSink? Journal { get; init; }
}
