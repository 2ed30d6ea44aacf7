using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// What an exec helper said about its spawn (<see cref="ExecHelper"/>'s status pipe, read to end of file): null
/// <paramref name="Error"/> means the job's program runs in <paramref name="Pid"/>; otherwise the spawn failed with
/// that message, and the helper's exit is never reported. Posted by the reaper before any exit of that pid.
/// </summary>
public readonly record struct SpawnReport(int Pid, string? Error, IReadOnlyList<string> NotApplied)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// The exec helpers whose report the <see cref="ChildReaper"/> awaits: each one's status pipe (in the reaper's epoll),
/// the bytes read so far and when waiting ends. The pipe is read as it becomes readable, so no thread ever blocks on a
/// helper and any number of them start at once. Under the reaper's <see cref="ChildReaper.Gate"/>.
/// </summary>
internal sealed class HelperReports
{
    private sealed class Pending(int pid, int fd, long deadline)
    {
        public readonly int Pid = pid;
        public readonly int Fd = fd;
        public readonly long Deadline = deadline;
        public readonly List<byte> Bytes = [];
    }

    private readonly Dictionary<int, Pending> _byFd = [];
    private readonly HashSet<int> _pids = [];
    /// <summary>How long a helper has to report (it applies to helpers started after a change).</summary>
    public TimeSpan Timeout { get; set; } = Limits.HelperReportTimeout;

    /// <summary>Reports still awaited, the refused included (their exit is held until they are settled).</summary>
    public int Count => _pids.Count;

    public bool IsAwaited(int pid) => _pids.Contains(pid);

    /// <summary>A helper whose pipe could not be watched: its exit is held until <see cref="Settled"/>.</summary>
    public void Refuse(int pid) => _pids.Add(pid);

    /// <summary>The report of <paramref name="pid"/> went out: its exit is no longer held.</summary>
    public void Settled(int pid) => _pids.Remove(pid);

    /// <summary>Starts waiting for <paramref name="pid"/>'s report on <paramref name="fd"/> (now ours to close).</summary>
    public void Await(int pid, int fd)
    {
        _byFd[fd] = new Pending(pid, fd, Environment.TickCount64 + (long)Timeout.TotalMilliseconds);
        _pids.Add(pid);
    }

    /// <summary>Reads what <paramref name="fd"/> has; the report when its pipe reached end of file (or failed), else null.</summary>
    public unsafe SpawnReport? Read(int fd)
    {
        if (!_byFd.TryGetValue(fd, out var pending)) return null;
        var buffer = stackalloc byte[512];
        while (true)
        {
            var n = Libc.Read(fd, buffer, 512);
            if (n < 0 && Errno.Last.Value == Errno.EINTR) continue;
            if (n < 0 && Errno.Last.Value == Errno.EAGAIN) return null; // more to come
            if (n <= 0) return Finish(pending, null);
            // A report is a few short lines: past the bound the rest is read (to end of file) but not kept.
            var keep = (int)Math.Min(n, Limits.MaxHelperReportBytes - pending.Bytes.Count);
            pending.Bytes.AddRange(new ReadOnlySpan<byte>(buffer, keep));
        }
    }

    /// <summary>Reports of helpers that did not finish in time, added to <paramref name="expired"/>: failures (the reaper kills them).</summary>
    public void Expire(List<SpawnReport> expired)
    {
        var now = Environment.TickCount64;
        foreach (var pending in _byFd.Values.Where(p => p.Deadline <= now).ToList())
            expired.Add(Finish(pending, $"the exec helper did not report within {Timeout.TotalSeconds:0.#}s"));
    }

    /// <summary>Milliseconds until the next deadline (at most <paramref name="cap"/>): how long the reaper may sleep.</summary>
    public int MillisecondsUntilNextDeadline(int cap)
    {
        if (_byFd.Count == 0) return cap;
        var next = _byFd.Values.Min(p => p.Deadline) - Environment.TickCount64;
        return (int)Math.Clamp(next, 0, cap);
    }

    /// <summary>Every pipe still awaited is closed (supd is going away).</summary>
    public void Clear()
    {
        foreach (var fd in _byFd.Keys) Libc.Close(fd);
        _byFd.Clear();
        _pids.Clear();
    }

    private SpawnReport Finish(Pending pending, string? timedOut)
    {
        _byFd.Remove(pending.Fd);
        _pids.Remove(pending.Pid);
        Libc.Close(pending.Fd); // also takes it out of the epoll set
        if (timedOut is not null) return new SpawnReport(pending.Pid, timedOut, []);
        var (error, notApplied) = Parse(pending.Bytes.ToArray());
        return new SpawnReport(pending.Pid, error, notApplied);
    }

    /// <summary>
    /// The report's whole lines (<c>KIND\tSTANZA\tMESSAGE</c>, each ending in a newline): the last <c>exec</c> means the job runs, <c>fail</c> that the
    /// spawn failed with its message, and no such line at all that the helper died before it could say. A fork
    /// server's child cannot call strerror: it ends its message with a tab and the errno (<c>MESSAGE\tERRNO</c>),
    /// written here as the helper would (<c>MESSAGE: TEXT</c>, or the text alone after an empty message).
    /// </summary>
    internal static (string? Error, IReadOnlyList<string> NotApplied) Parse(byte[] bytes)
    {
        string? error = "the exec helper ended before it could run the job";
        var notApplied = new List<string>();
        // Whole lines only: what follows the last newline was cut (the bound) or never finished (the helper died).
        var whole = bytes.AsSpan(0, bytes.AsSpan().LastIndexOf((byte)'\n') + 1);
        foreach (var line in Encoding.UTF8.GetString(whole).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t', 3);
            var stanza = parts.Length > 1 ? parts[1] : "";
            var message = parts.Length > 2 ? WithErrno(parts[2]) : "";
            switch (parts[0])
            {
                case "warn": notApplied.Add($"{stanza}: {message}"); break;
                case "fail": error = message; break;
                case "exec": error = null; break;
            }
        }
        return (error, notApplied);
    }

    private static string WithErrno(string message)
    {
        var tab = message.LastIndexOf('\t');
        if (tab < 0 || !int.TryParse(message.AsSpan(tab + 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var errno))
            return message;
        var text = new Errno(errno).Message;
        return tab == 0 ? text : $"{message[..tab]}: {text}";
    }
}
