namespace Supervisor.Tests.Support;

/// <summary>
/// Reads supd's own output (<see cref="SupdHarness.DaemonOutput"/>): the <c>supd: Event NAME K=V …</c> lines it logs
/// for every emitted event, and its other lines about jobs.
/// </summary>
public static class DaemonTrace
{
    private const string EventPrefix = "supd: Event ";

    /// <summary>Every line of the output, in order.</summary>
    public static IReadOnlyList<string> Lines(string output) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

    /// <summary>
    /// The job events (<c>starting</c>, <c>started</c>, <c>stopping</c>, <c>stopped</c>) of <paramref name="job"/>, in
    /// order, as the event name and the variables after <c>JOB</c> and <c>INSTANCE</c>: <c>stopped RESULT=ok</c>.
    /// <paramref name="instance"/> selects one instance (empty: the single instance); null takes every instance.
    /// </summary>
    public static IReadOnlyList<string> JobEvents(string output, string job, string? instance = "")
    {
        var events = new List<string>();
        foreach (var line in Lines(output))
        {
            if (!line.StartsWith(EventPrefix, StringComparison.Ordinal)) continue;
            var words = line[EventPrefix.Length..].Split(' ');
            // Upstart's four only: supd's own exited event is read with ExitedEvents.
            if (words[0] is not ("starting" or "started" or "stopping" or "stopped")) continue;
            if (words.Length < 3 || words[1] != "JOB=" + job || !words[2].StartsWith("INSTANCE=", StringComparison.Ordinal)) continue;
            if (instance is not null && words[2] != "INSTANCE=" + instance) continue;
            events.Add(string.Join(' ', words.Take(1).Concat(words.Skip(3))));
        }
        return events;
    }

    /// <summary>supd's <c>exited</c> events of <paramref name="job"/>, in order, as the variables after JOB and INSTANCE.</summary>
    public static IReadOnlyList<string> ExitedEvents(string output, string job) =>
        Lines(output)
            .Where(l => l.StartsWith($"{EventPrefix}exited JOB={job} INSTANCE=", StringComparison.Ordinal))
            .Select(l => string.Join(' ', l.Split(' ').Skip(5)))
            .ToList();

    /// <summary>How many lines of the output contain <paramref name="text"/>.</summary>
    public static int Count(string output, string text) => Lines(output).Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>The index of the first line containing <paramref name="text"/>, or -1.</summary>
    public static int IndexOf(string output, string text)
    {
        var lines = Lines(output);
        for (var i = 0; i < lines.Count; i++)
            if (lines[i].Contains(text, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <summary>Waits until supd has written a line containing <paramref name="text"/>.</summary>
    public static Task WaitForAsync(SupdHarness supd, string text, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => IndexOf(supd.DaemonOutput, text) >= 0, $"'{text}' in supd's output", timeout);

    /// <summary>Waits until <paramref name="job"/> has emitted an event whose line is exactly <paramref name="expected"/>.</summary>
    public static Task WaitForEventAsync(SupdHarness supd, string job, string expected, string? instance = "", TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => JobEvents(supd.DaemonOutput, job, instance).Contains(expected), $"event '{expected}' of {job}", timeout);
}
