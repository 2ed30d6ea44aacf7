using System.Globalization;
using Supervisor.Core.Language;

namespace Supervisor.Core.Processes.Containment;

/// <summary>One value written into a job instance's cgroup before its first process joins: <c>memory.max</c> ← 67108864.</summary>
/// <param name="Stanza">The stanza as the job file wrote it, for messages: <c>memory max 64M</c>.</param>
public sealed record CgroupSetting(string Controller, string File, string Value, string Stanza);

/// <summary>Thrown when a job's containment cannot be had: its message is the job's failure, naming the stanza.</summary>
public sealed class ContainmentException(string message) : IOException(message);

/// <summary>
/// The cgroup settings of a job: <c>memory max</c>, <c>tasks max</c>, <c>cpu weight</c>, and Upstart 1.13's
/// <c>cgroup CONTROLLER [KEY VALUE]</c> (KEY a file of that controller, as cgroup v2 names them: <c>memory.high</c>;
/// a bare controller only asks for it to be available). Upstart's named cgroups (<c>cgroup CONTROLLER NAME …</c>) are
/// refused: each instance start has its own.
/// </summary>
public static class CgroupSettings
{
    public static IReadOnlyList<CgroupSetting> From(JobDefinition job)
    {
        if (job.Cgroups.Count == 0 && job.MemoryMax is null && job.TasksMax is null && job.CpuWeight is null) return [];
        var settings = new List<CgroupSetting>();
        if (job.MemoryMax is { } memory) settings.Add(new("memory", "memory.max", Number(memory), $"memory max {Size(memory)}"));
        if (job.TasksMax is { } tasks) settings.Add(new("pids", "pids.max", Number(tasks), $"tasks max {Number(tasks)}"));
        if (job.CpuWeight is { } weight) settings.Add(new("cpu", "cpu.weight", Number(weight), $"cpu weight {Number(weight)}"));
        foreach (var stanza in job.Cgroups)
        {
            var words = stanza.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var text = "cgroup " + stanza;
            var controller = words[0];
            if (words.Length == 1)
                settings.Add(new(controller, "", "", text));
            else if (words.Length == 3 && words[1].StartsWith(controller + ".", StringComparison.Ordinal) && !words[1].Contains('/'))
                settings.Add(new(controller, words[1], words[2], text));
            else
                throw new ContainmentException(words.Length == 3
                    ? $"{text}: {words[1]} is not a file of the {controller} controller ({controller}.*)"
                    : $"{text}: expected cgroup CONTROLLER [KEY VALUE]; named cgroups are not supported (each job instance has its own)");
        }
        return settings;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Size(long bytes) =>
        bytes % (1L << 30) == 0 ? Number(bytes >> 30) + "G" : bytes % (1L << 20) == 0 ? Number(bytes >> 20) + "M"
        : bytes % 1024 == 0 ? Number(bytes >> 10) + "K" : Number(bytes);
}
