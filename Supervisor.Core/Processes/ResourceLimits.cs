using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>Upstart's <c>limit</c> resource names and their Linux RLIMIT_* numbers.</summary>
public static class ResourceLimits
{
    private static readonly Dictionary<string, int> Numbers = new(StringComparer.Ordinal)
    {
        ["as"] = Libc.RLIMIT_AS,
        ["core"] = Libc.RLIMIT_CORE,
        ["cpu"] = Libc.RLIMIT_CPU,
        ["data"] = Libc.RLIMIT_DATA,
        ["fsize"] = Libc.RLIMIT_FSIZE,
        ["memlock"] = Libc.RLIMIT_MEMLOCK,
        ["msgqueue"] = Libc.RLIMIT_MSGQUEUE,
        ["nice"] = Libc.RLIMIT_NICE,
        ["nofile"] = Libc.RLIMIT_NOFILE,
        ["nproc"] = Libc.RLIMIT_NPROC,
        ["rss"] = Libc.RLIMIT_RSS,
        ["rtprio"] = Libc.RLIMIT_RTPRIO,
        ["sigpending"] = Libc.RLIMIT_SIGPENDING,
        ["stack"] = Libc.RLIMIT_STACK,
    };

    /// <summary>Every resource Upstart knows, in its documentation's order.</summary>
    public static IReadOnlyCollection<string> Names => Numbers.Keys;

    public static bool TryGetNumber(string name, out int resource) => Numbers.TryGetValue(name, out resource);
}
