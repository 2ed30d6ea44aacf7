using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
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

    public void Dispose()
    {
        foreach (var file in _files.Values) file.Dispose();
    }
}
