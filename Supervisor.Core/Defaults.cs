using Supervisor.Core.Events;
using Supervisor.Core.Language;

namespace Supervisor.Core;

/// <summary>
/// Every default supd applies when neither a job file nor supd's configuration says otherwise, in one place: the
/// job model, the loop's options, the log settings and the daemon's <c>SupdOptions</c> read them from here, and the
/// docs that quote a default (README, docs/job-files.md, docs/supctl.md) quote these values.
/// </summary>
public static class Defaults
{
    /// <summary>A job's stanzas when the file does not give them: Upstart 1.12's (spec §3, <c>job_class_new</c>).</summary>
    public static class Job
    {
        /// <summary><c>kill timeout</c>: how long after the kill signal the main process's group gets SIGKILL.</summary>
        public static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(5);

        /// <summary><c>kill signal</c>.</summary>
        public const int KillSignal = Signals.SIGTERM;

        /// <summary><c>reload signal</c>.</summary>
        public const int ReloadSignal = Signals.SIGHUP;

        /// <summary><c>umask</c>: 022 (PID 1's).</summary>
        public const int Umask = 0x12;

        /// <summary><c>respawn limit 10 5</c>: at most 10 respawns in a 5 s window.</summary>
        public static readonly RespawnLimit RespawnLimit = new(10, 5);

        /// <summary><c>normal exit</c>: none listed, so only exit status 0 is normal (for a job that does not respawn).</summary>
        public static readonly IReadOnlyList<ExitCondition> NormalExit = [];

        /// <summary><c>console log</c> (Upstart 1.4+).</summary>
        public const ConsoleMode Console = ConsoleMode.Log;

        /// <summary><c>expect none</c>.</summary>
        public const ExpectMode Expect = ExpectMode.None;

        /// <summary><c>health interval 30</c>, <c>timeout 30</c>, <c>retries 3</c>, <c>start-period 0</c>: Docker's HEALTHCHECK defaults.</summary>
        public static readonly HealthSettings Health = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 3, TimeSpan.Zero);
    }

    /// <summary>What every job process starts from (spec §4, §6: Upstart's PID 1 values).</summary>
    public static class Process
    {
        /// <summary>PATH given to jobs.</summary>
        public const string Path = "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin";

        /// <summary>TERM given to jobs (Upstart passed the kernel's, "linux").</summary>
        public const string Term = "linux";

        /// <summary>The working directory of a job without <c>chdir</c>.</summary>
        public const string WorkingDirectory = "/";
    }

    /// <summary>The supervision loop's own timings (daemon-wide; <c>SupervisorOptions</c>).</summary>
    public static class Supervision
    {
        /// <summary>How long a job may take to do what its <c>expect</c> says before it is supervised as it is.</summary>
        public static readonly TimeSpan ExpectTimeout = TimeSpan.FromSeconds(10);

        /// <summary>How often a job waiting on <c>expect</c> is looked at.</summary>
        public static readonly TimeSpan ExpectPollInterval = TimeSpan.FromMilliseconds(20);

        /// <summary>After an <c>expect fork|daemon</c> job's first process exits, how long its daemon may take to show up.</summary>
        public static readonly TimeSpan ExpectForkGrace = TimeSpan.FromSeconds(2);

        /// <summary>
        /// How long an <c>expect daemon</c> job's only candidate that leads its own session must stay the only one to be
        /// taken for the daemon (it may be the middle of a double fork, slow to fork under load: 100 ms once was not enough).
        /// </summary>
        public static readonly TimeSpan ExpectDaemonSettle = TimeSpan.FromSeconds(1);

        /// <summary>How long a failure reply waits for the failed process's output to reach end of file.</summary>
        public static readonly TimeSpan FailureOutputGrace = TimeSpan.FromSeconds(1.5);

        /// <summary>How long a restart's or reload's <c>check</c> may run (supd.json <c>CheckTimeoutSeconds</c>).</summary>
        public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(60);

        /// <summary>
        /// How long the loop works through the event queue before it lets the inputs waiting behind it in (then goes
        /// on): 1000 jobs <c>start on startup</c> are ~1000 spawns, seconds of work, and a <c>supctl status</c> meanwhile
        /// waits at most about this long for its turn, not for the whole bring-up.
        /// </summary>
        public static readonly TimeSpan EventPollSlice = TimeSpan.FromMilliseconds(10);
    }

    /// <summary>Job logs (supd.json <c>LogRotateSize</c>, <c>LogRotateCount</c>, <c>InstanceLogRetention</c>).</summary>
    public static class Logs
    {
        /// <summary><see cref="RotateSizeBytes"/> as supd.json writes it.</summary>
        public const string RotateSize = "10M";

        /// <summary>A job log rotates past 10 MiB unless the job says <c>log rotate</c>.</summary>
        public const long RotateSizeBytes = 10L << 20;

        /// <summary>Rotated files kept (<c>JOB.log.1</c> … <c>JOB.log.5</c>).</summary>
        public const int RotateCount = 5;

        public static readonly LogRotation Rotation = new(RotateSizeBytes, RotateCount);

        /// <summary>supd's own log (<c>supd.log</c>) rotates as a job log does by default; no setting changes it.</summary>
        public static readonly LogRotation SupdLogRotation = new(RotateSizeBytes, RotateCount);

        /// <summary>Finished instances of each instance job whose logs are kept.</summary>
        public const int InstanceLogRetention = 10;
    }

    /// <summary>The daemon's own settings (<c>SupdOptions</c>, supd.json).</summary>
    public static class Daemon
    {
        /// <summary>Emitted after <c>startup</c>, so jobs written for Ubuntu (<c>start on filesystem</c>, <c>runlevel [2345]</c>) start.</summary>
        public const string BootEvents =
            $"{EventIds.Filesystem}; {EventIds.Runlevel} {EventIds.Variables.Runlevel}=2 {EventIds.Variables.PrevLevel}=N";

        /// <summary>Emitted on SIGTERM/SIGINT before every job is stopped.</summary>
        public const string ShutdownEvent = $"{EventIds.Runlevel} {EventIds.Variables.Runlevel}=0 {EventIds.Variables.PrevLevel}=2";

        /// <summary>Extra time on top of the longest kill timeout a shutdown may take before everything is SIGKILLed.</summary>
        public const double ShutdownGraceSeconds = 10;

        /// <summary>The control socket's permissions, in octal.</summary>
        public const string SocketMode = "0660";

        /// <summary>What supd writes to stderr and supd.log.</summary>
        public const string LogLevel = "Information";

        /// <summary>Recent events and state changes kept for <c>supctl events</c>.</summary>
        public const int EventHistory = 1000;

        /// <summary>Items a <c>supctl events -f</c> watcher may fall behind before items are dropped.</summary>
        public const int EventQueueSize = 1024;
    }
}
