using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Logs;

/// <summary>
/// The log directory: one <see cref="JobLogFile"/> per job instance, named as Upstart names them (spec §9). Finished
/// instances of instance jobs keep their logs under <see cref="LogSettings.InstanceLogRetention"/>: the loop reports
/// each instance that ends (<see cref="InstanceFinished"/>), the oldest beyond the count are removed by a background
/// task (never on the loop), and a name that starts again is taken off the list.
/// </summary>
public sealed partial class JobLogDirectory : IDisposable
{
    private readonly ConcurrentDictionary<string, JobLogFile> _files = new();
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    // Per job, the log paths of its finished instances, oldest first. Touched by the loop only; locked all the same.
    private readonly Dictionary<string, LinkedList<string>> _finished = new(StringComparer.Ordinal);
    private readonly Channel<(string Path, int Rotated)> _removals = Channel.CreateUnbounded<(string, int)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _remover;
    private long _removed, _removeFailures;

    public JobLogDirectory(string directory, ILoggerFactory loggers, LogSettings? settings = null, TimeProvider? time = null)
    {
        Directory = directory;
        _log = loggers.CreateLogger<JobLogFile>();
        Settings = settings ?? new LogSettings();
        _time = time ?? TimeProvider.System;
        _remover = Task.Run(RemoveLoopAsync);
    }

    public string Directory { get; }

    public LogSettings Settings { get; }

    /// <summary>Log files of finished instances removed under the retention, and removals that failed (each logged).</summary>
    public long InstanceLogsRemoved => Interlocked.Read(ref _removed);
    public long InstanceLogRemovalFailures => Interlocked.Read(ref _removeFailures);

    /// <summary>
    /// The log file's name, injective over (job, instance) so no two instances, and no job and supd's own log, ever
    /// share a file: <c>web</c> → <c>web.log</c>, instance <c>admin</c> of <c>web</c> → <c>web@admin.log</c>,
    /// <c>foo/bar</c> → <c>foo%2Fbar.log</c>. In each part <c>%</c>, <c>/</c>, <c>@</c> and control characters are
    /// written <c>%XX</c> (UTF-8 bytes, upper-case hex), so the one unescaped <c>@</c> separates job from instance; a
    /// job named like supd's own log (<c>supd</c>, <c>supd_001</c>) has its first letter escaped (<c>%73upd.log</c>).
    /// Upstart's <c>foo_bar-wibble.log</c> was not injective (<c>web-admin</c> vs <c>web</c> instance <c>admin</c>).
    /// </summary>
    public static string FileName(string job, string instance)
    {
        var name = new StringBuilder(job.Length + instance.Length + 8);
        Escape(name, job);
        if (name.Length >= 4 && IsSupdOwnLogStem(name)) name.Remove(0, 1).Insert(0, "%73");
        if (instance.Length > 0)
        {
            name.Append('@');
            Escape(name, instance);
        }
        return name.Append(".log").ToString();
    }

    private static void Escape(StringBuilder into, string part)
    {
        Span<byte> bytes = stackalloc byte[4];
        foreach (var rune in part.EnumerateRunes())
        {
            if (rune.Value is '%' or '/' or '@' || Rune.IsControl(rune))
            {
                var length = rune.EncodeToUtf8(bytes);
                foreach (var b in bytes[..length]) into.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                into.Append(rune.ToString());
            }
        }
    }

    // supd.log, and the files Serilog rolls it to (supd_001.log …).
    private static bool IsSupdOwnLogStem(StringBuilder stem)
    {
        var text = stem.ToString();
        if (text == "supd") return true;
        return text.StartsWith("supd_", StringComparison.Ordinal) && text.Length > 5 && text.AsSpan(5).IndexOfAnyExceptInRange('0', '9') < 0;
    }

    public string PathFor(string job, string instance) => Path.Combine(Directory, FileName(job, instance));

    /// <param name="rotation">The job's <c>log rotate</c>; null for the daemon-wide default.</param>
    public JobLogFile For(string job, string instance, LogRotation? rotation = null)
    {
        var path = PathFor(job, instance);
        if (instance.Length > 0) Revive(job, path);
        var file = _files.GetOrAdd(path, p => new JobLogFile(p, _log, rotation ?? Settings.Rotation, _time));
        file.Rotation = rotation ?? Settings.Rotation;
        return file;
    }

    /// <summary>Bytes of this instance's output that could not be written, since supd started (0 if it never wrote).</summary>
    public long Dropped(string job, string instance) =>
        _files.TryGetValue(PathFor(job, instance), out var file) ? file.BytesDropped : 0;

    /// <summary>Bytes of this instance's output written to its log since supd started (0 if it never wrote).</summary>
    public long Written(string job, string instance) =>
        _files.TryGetValue(PathFor(job, instance), out var file) ? file.BytesWritten : 0;

    /// <summary>The sink for one process of the instance whose log is <paramref name="file"/>.</summary>
    /// <param name="timestamps">The job's <c>log timestamps</c> (the daemon-wide setting applies either way).</param>
    /// <param name="errorStream">The sink of a stderr with a pipe of its own: its lines go to journald at warning.</param>
    public JobOutputWriter Writer(JobLogFile file, string job, string instance, bool timestamps, bool errorStream = false) =>
        new(file, timestamps || Settings.Timestamps, Settings.Mirror, instance.Length == 0 ? job : $"{job}-{instance}", _time,
            Settings.Journal, job, instance, errorStream ? JournalSink.Warning : JournalSink.Info);

    /// <summary>
    /// Whether a job's stderr gets a pipe of its own: only when its lines also go to journald, which wants stderr at
    /// priority warning. Otherwise stdout and stderr share one pipe, which keeps the order in which the job wrote them;
    /// two pipes are read apart, so their lines meet in the log in the order supd read them.
    /// </summary>
    public bool SplitsErrorStream => Settings.Journal is not null;

    private JobLogFile? _alsoReopen;

    /// <summary>A file that is not a job log but reopens with them (supd's own supd.log).</summary>
    public JobLogDirectory AlsoReopen(JobLogFile file)
    {
        _alsoReopen = file;
        return this;
    }

    /// <summary>Closes every job log (and supd.log); each is opened again (created if it was moved away) on its next write.</summary>
    public int ReopenAll()
    {
        var files = _files.Values.ToArray();
        foreach (var file in files) file.Reopen();
        _alsoReopen?.Reopen();
        return files.Length;
    }

    /// <summary>
    /// An instance of an instance job ended: its log joins the job's finished ones, and the oldest beyond
    /// <see cref="LogSettings.InstanceLogRetention"/> are closed and removed (with their rotated copies) off the caller's thread.
    /// </summary>
    public void InstanceFinished(string job, string instance, LogRotation? rotation = null)
    {
        if (instance.Length == 0) return;
        var path = PathFor(job, instance);
        var keep = Math.Max(0, Settings.InstanceLogRetention);
        lock (_finished)
        {
            if (!_finished.TryGetValue(job, out var paths)) _finished[job] = paths = new LinkedList<string>();
            paths.Remove(path);
            paths.AddLast(path);
            while (paths.Count > keep)
            {
                var oldest = paths.First!.Value;
                paths.RemoveFirst();
                if (_files.TryRemove(oldest, out var file)) file.Dispose();
                _removals.Writer.TryWrite((oldest, Math.Max((rotation ?? Settings.Rotation).Count, Settings.Rotation.Count)));
            }
            if (paths.Count == 0) _finished.Remove(job);
        }
    }

    /// <summary>How many finished instances of <paramref name="job"/> have logs kept now.</summary>
    public int FinishedInstanceLogs(string job)
    {
        lock (_finished) return _finished.TryGetValue(job, out var paths) ? paths.Count : 0;
    }

    // An instance of that name runs again: its log is live, not a finished one to remove.
    private void Revive(string job, string path)
    {
        lock (_finished)
        {
            if (_finished.TryGetValue(job, out var paths) && paths.Remove(path) && paths.Count == 0) _finished.Remove(job);
        }
    }

    private async Task RemoveLoopAsync()
    {
        await foreach (var (path, rotated) in _removals.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            for (var i = 0; i <= rotated; i++)
            {
                var file = i == 0 ? path : $"{path}.{i}";
                if (!File.Exists(file)) continue;
                if (AppendFile.Delete(file, out var error))
                {
                    Interlocked.Increment(ref _removed);
                    continue;
                }
                Interlocked.Increment(ref _removeFailures);
                LogRemoveFailed(file, error.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot remove the log {Path} of a finished instance (InstanceLogRetention): {Reason}")]
    private partial void LogRemoveFailed(string path, string reason);

    public void Dispose()
    {
        _removals.Writer.TryComplete();
        // Removals still queued are a few unlinks; supd is stopping, so wait for them briefly.
        _remover.Wait(TimeSpan.FromSeconds(2));
        foreach (var file in _files.Values) file.Dispose();
    }
}
