using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Logs;

/// <summary>The log directory: one <see cref="JobLogFile"/> per job instance, named as Upstart names them (spec §9).</summary>
public sealed class JobLogDirectory(string directory, ILoggerFactory loggers) : IDisposable
{
    private readonly ConcurrentDictionary<string, JobLogFile> _files = new();
    private readonly ILogger _log = loggers.CreateLogger<JobLogFile>();

    public string Directory { get; } = directory;

    /// <summary><c>foo/bar</c> instance <c>wibble</c> → <c>foo_bar-wibble.log</c>.</summary>
    public static string FileName(string job, string instance) =>
        (instance.Length == 0 ? job : $"{job}-{instance}").Replace('/', '_') + ".log";

    public string PathFor(string job, string instance) => Path.Combine(Directory, FileName(job, instance));

    public JobLogFile For(string job, string instance)
    {
        var path = PathFor(job, instance);
        return _files.GetOrAdd(path, p => new JobLogFile(p, _log));
    }

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
