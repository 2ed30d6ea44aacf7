using System.Globalization;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

/// <summary>
/// The length of a stress run: short in CI (so `dotnet test` stays quick), longer with STRESS_MINUTES=N.
/// </summary>
public static class StressLength
{
    public static TimeSpan Duration(TimeSpan ciLength)
    {
        var minutes = Environment.GetEnvironmentVariable("STRESS_MINUTES");
        return double.TryParse(minutes, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0
            ? TimeSpan.FromMinutes(m)
            : ciLength;
    }
}

/// <summary>What /proc says of supd's resources at one moment: open descriptors, threads, resident memory.</summary>
public sealed record ResourceSample(TimeSpan At, int Fds, int Threads, long RssKib, int ZombieChildren)
{
    public static ResourceSample Take(int pid, TimeSpan at)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        long Field(string name) => long.Parse(status.First(l => l.StartsWith(name, StringComparison.Ordinal))
            .Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var zombies = ProcessTable.AllPids().Count(p => ProcessTable.Stat(p) is { State: 'Z' } s && s.ParentPid == pid);
        return new ResourceSample(at, Directory.GetFiles($"/proc/{pid}/fd").Length, (int)Field("Threads:"), Field("VmRSS:"), zombies);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{At.TotalSeconds,6:F1}s fds={Fds} threads={Threads} rss={RssKib / 1024.0:F1}MiB zombies={ZombieChildren}");
}
