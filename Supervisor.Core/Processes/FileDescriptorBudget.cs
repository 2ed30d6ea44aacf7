using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Keeps <see cref="Limits.FdReserve"/> file descriptors free for supervision: clients flooding the control socket
/// once took supd to its fd limit, and a respawning job then failed with "unable to create output pipe: Too many open
/// files" and goals.json could not be written. Counting /proc/self/fd costs a directory read, so it is sampled at
/// most every <see cref="SampleInterval"/>, and connections admitted since are added to the sample.
/// </summary>
public sealed unsafe class FileDescriptorBudget(TimeProvider? time = null)
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private long _sampledAt = long.MinValue;
    private int _sampled;
    private int _admittedSince;

    /// <summary>RLIMIT_NOFILE's soft limit now (it can be changed from outside, with prlimit).</summary>
    public static int Limit()
    {
        Libc.RLimit limit;
        if (Libc.GetRLimit(Libc.RLIMIT_NOFILE, &limit) != 0) return int.MaxValue;
        return (int)Math.Min(limit.Current, int.MaxValue);
    }

    /// <summary>The fds kept free under <paramref name="limit"/>: <see cref="Limits.FdReserve"/>, or a quarter of a small limit.</summary>
    public static int ReserveFor(int limit) => Math.Min(Limits.FdReserve, limit / 4);

    /// <summary>True when one more fd (a connection) still leaves the reserve free; counts it as taken if so.</summary>
    /// <param name="privileged">Root or supd's own user: may use half the reserve, so root can still ask what is going on under a flood.</param>
    public bool TryTake(bool privileged = false)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_sampledAt == long.MinValue || _time.GetElapsedTime(_sampledAt, now) >= SampleInterval)
            {
                _sampled = OpenCount();
                _sampledAt = now;
                _admittedSince = 0;
            }
            var limit = Limit();
            var reserve = privileged ? ReserveFor(limit) / 2 : ReserveFor(limit);
            if (_sampled + _admittedSince + 1 > limit - reserve) return false;
            _admittedSince++;
            return true;
        }
    }

    /// <summary>supd's open fds, from /proc/self/fd.</summary>
    public static int OpenCount()
    {
        try
        {
            // Less the fd of the directory being read.
            return Math.Max(0, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
