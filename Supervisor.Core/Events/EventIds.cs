using System.Collections.Frozen;

namespace Supervisor.Core.Events;

/// <summary>
/// The names of the events supd emits and of the variables they and job processes carry (spec §4, §8), in one
/// place: jobs match on these words, so each is written once and read from here.
/// </summary>
public static class EventIds
{
    /// <summary>Emitted once, first, when supd listens.</summary>
    public const string Startup = "startup";

    /// <summary>A job instance enters starting (blocks it until the event finishes).</summary>
    public const string Starting = "starting";

    /// <summary>A job instance reached running.</summary>
    public const string Started = "started";

    /// <summary>A job instance enters stopping (blocks it until the event finishes).</summary>
    public const string Stopping = "stopping";

    /// <summary>A job instance is back in waiting.</summary>
    public const string Stopped = "stopped";

    /// <summary>supd's own: every end of a main process, with <see cref="Variables.Respawn"/>.</summary>
    public const string Exited = "exited";

    /// <summary>supd's own: an instance's health check failed <c>health retries</c> times in a row; supd restarts it.</summary>
    public const string Unhealthy = "unhealthy";

    /// <summary>supd's own: the first pass of an unhealthy instance's health check.</summary>
    public const string Healthy = "healthy";

    /// <summary>A default boot event (<c>start on filesystem</c>).</summary>
    public const string Filesystem = "filesystem";

    /// <summary>A default boot and shutdown event, with <see cref="Variables.Runlevel"/> and <see cref="Variables.PrevLevel"/>.</summary>
    public const string Runlevel = "runlevel";

    /// <summary>Upstart's own events that supd never emits itself but <c>supctl emit</c> may (check-config knows them).</summary>
    public const string ControlAltDelete = "control-alt-delete", KeyboardRequest = "keyboard-request", PowerStatusChanged = "power-status-changed";

    /// <summary>Appended to an event's name when a job that held it failed: <c>NAME/failed</c>.</summary>
    public const string FailedSuffix = "/failed";

    /// <summary>The <c>NAME/failed</c> event of <paramref name="name"/>.</summary>
    public static string Failed(string name) => name + FailedSuffix;

    /// <summary>Whether <paramref name="name"/> is a <c>NAME/failed</c> event (which never gets a <c>/failed</c> of its own).</summary>
    public static bool IsFailed(string name) => name.EndsWith(FailedSuffix, StringComparison.Ordinal);

    /// <summary>Upstart's four job events, one per state change of an instance (<c>exited</c> is no state change).</summary>
    public static IReadOnlySet<string> StateEvents { get; } =
        new[] { Starting, Started, Stopping, Stopped }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The events that name a job in their first argument (<c>JOB=</c>): Upstart's four and supd's <c>exited</c>, <c>unhealthy</c>, <c>healthy</c>.</summary>
    public static IReadOnlySet<string> JobEvents { get; } =
        new[] { Starting, Started, Stopping, Stopped, Exited, Unhealthy, Healthy }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Events always available to a <c>start on</c>/<c>stop on</c>: Upstart's own (<c>startup</c>, the job events,
    /// <c>control-alt-delete</c>, <c>keyboard-request</c>, <c>power-status-changed</c>) and supd's (<c>filesystem</c>
    /// and <c>runlevel</c> at boot, <c>exited</c>).
    /// </summary>
    public static IReadOnlySet<string> BuiltIn { get; } = new[]
    {
        Startup, Starting, Started, Stopping, Stopped,
        ControlAltDelete, KeyboardRequest, PowerStatusChanged,
        Filesystem, Runlevel, Exited, Unhealthy, Healthy,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The variables of supd's events, in the order a job event sets them (spec §8).</summary>
    public static class Variables
    {
        public const string Job = "JOB";
        public const string Instance = "INSTANCE";

        /// <summary><c>stopping</c>, <c>stopped</c>: <see cref="Values.Ok"/> or <see cref="Values.Failed"/>.</summary>
        public const string Result = "RESULT";

        /// <summary>The process that failed (a <c>ProcessKinds</c> name, or <see cref="Values.RespawnProcess"/>); <c>exited</c>: main.</summary>
        public const string Process = "PROCESS";

        /// <summary>The failed process's exit status (a number).</summary>
        public const string ExitStatus = "EXIT_STATUS";

        /// <summary>The signal that ended the failed process, without <c>SIG</c>.</summary>
        public const string ExitSignal = "EXIT_SIGNAL";

        /// <summary><c>exited</c>: the pid of the main process that ended.</summary>
        public const string Pid = "PID";

        /// <summary><c>exited</c>: <see cref="Values.Yes"/> when the job respawns.</summary>
        public const string Respawn = "RESPAWN";

        /// <summary><c>runlevel</c>'s variables.</summary>
        public const string Runlevel = "RUNLEVEL", PrevLevel = "PREVLEVEL";

        /// <summary>Every variable supd itself sets in the events it emits (a job's <c>export</c>s come on top).</summary>
        public static IReadOnlySet<string> All { get; } = new[]
        {
            Job, Instance, Result, Process, ExitStatus, ExitSignal, Pid, Respawn, Runlevel, PrevLevel,
        }.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The values supd writes in those variables.</summary>
    public static class Values
    {
        public const string Ok = "ok";
        public const string Failed = "failed";
        public const string Yes = "yes";
        public const string No = "no";

        /// <summary><c>PROCESS=respawn</c>: the job failed by respawning too fast.</summary>
        public const string RespawnProcess = "respawn";
    }

    /// <summary>Variables every job process gets from supd (spec §4), besides its events' variables.</summary>
    public static class ProcessVariables
    {
        public const string UpstartJob = "UPSTART_JOB";
        public const string UpstartInstance = "UPSTART_INSTANCE";

        /// <summary>The events that started the instance (space-separated names).</summary>
        public const string UpstartEvents = "UPSTART_EVENTS";

        /// <summary>The events that stopped it (pre-stop and post-stop only).</summary>
        public const string UpstartStopEvents = "UPSTART_STOP_EVENTS";

        /// <summary>The main process's start tag, which finds its daemon after a fork (<c>expect fork|daemon</c>).</summary>
        public const string SupdTag = "SUPD_TAG";

        /// <summary>supd's control socket, so supctl (initctl, start, stop…) inside a job reaches this supd.</summary>
        public const string SupdSocket = "SUPD_SOCKET";
    }
}
