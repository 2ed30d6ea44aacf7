using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Language;

namespace Supervisor.Core.Logs;

/// <summary>The log directory: one <see cref="JobLogFile"/> per job instance, named as Upstart names them (spec §9).</summary>
public sealed class JobLogDirectory(string directory, ILoggerFactory loggers, LogSettings? settings = null, TimeProvider? time = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, JobLogFile> _files = new();
    private readonly ILogger _log = loggers.CreateLogger<JobLogFile>();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public string Directory { get; } = directory;

    public LogSettings Settings { get; } = settings ?? new LogSettings();

    /// <summary><c>foo/bar</c> instance <c>wibble</c> → <c>foo_bar-wibble.log</c>.</summary>
    public static string FileName(string job, string instance) =>
        (instance.Length == 0 ? job : $"{job}-{instance}").Replace('/', '_') + ".log";

    public string PathFor(string job, string instance) => Path.Combine(Directory, FileName(job, instance));

    /// <param name="rotation">The job's <c>log rotate</c>; null for the daemon-wide default.</param>
    public JobLogFile For(string job, string instance, LogRotation? rotation = null)
    {
        var path = PathFor(job, instance);
        var file = _files.GetOrAdd(path, p => new JobLogFile(p, _log, rotation ?? Settings.Rotation, _time));
        file.Rotation = rotation ?? Settings.Rotation;
        return file;
    }

    /// <summary>Bytes of this instance's output that could not be written, since supd started (0 if it never wrote).</summary>
    public long Dropped(string job, string instance) =>
        _files.TryGetValue(PathFor(job, instance), out var file) ? file.BytesDropped : 0;

    /// <summary>The sink for one process of the instance whose log is <paramref name="file"/>.</summary>
    /// <param name="timestamps">The job's <c>log timestamps</c> (the daemon-wide setting applies either way).</param>
    public JobOutputWriter Writer(JobLogFile file, string job, string instance, bool timestamps) =>
        new(file, timestamps || Settings.Timestamps, Settings.Mirror, instance.Length == 0 ? job : $"{job}-{instance}", _time);

    /// <summary>Closes every job log; each is opened again (created if it was moved away) on its next write.</summary>
    public int ReopenAll()
    {
        var files = _files.Values.ToArray();
        foreach (var file in files) file.Reopen();
        return files.Length;
    }

    public void Dispose()
    {
        foreach (var file in _files.Values) file.Dispose();
    }
}
