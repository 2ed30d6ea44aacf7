using System.Text;
using System.Text.Json;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Handover;

/// <summary>
/// The handover state in a memfd: written by the supd that re-executes (the fd is left open across the exec, its
/// number passed as <c>--handover FD</c>), read and closed by the new image. What is read is bounded
/// (<see cref="Limits.MaxHandoverBytes"/>, by fstat before reading) and checked whole before anything is adopted.
/// </summary>
public static unsafe class HandoverFile
{
    /// <summary>A memfd holding <paramref name="state"/>, rewound, without close-on-exec.</summary>
    public static int Write(HandoverState state)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state, HandoverStateJson.Default.HandoverState);
        if (bytes.Length > Limits.MaxHandoverBytes)
            throw new IOException($"the handover state is {bytes.Length} bytes, more than the {Limits.MaxHandoverBytes} a supd reads");
        // Close-on-exec like every other fd of supd's: the re-exec clears it on this one alone, just before execve.
        var fd = Libc.MemfdCreate("supd-handover", Libc.MFD_CLOEXEC);
        if (fd < 0) throw new IOException($"memfd_create: {Errno.Last.Message}");
        try
        {
            fixed (byte* start = bytes)
            {
                var written = 0;
                while (written < bytes.Length)
                {
                    var n = Libc.Write(fd, start + written, (nuint)(bytes.Length - written));
                    if (n < 0 && Errno.Last.Value == Errno.EINTR) continue;
                    if (n <= 0) throw new IOException($"writing the handover state: {Errno.Last.Message}");
                    written += (int)n;
                }
            }
            if (Libc.Lseek(fd, 0, Libc.SEEK_SET) != 0) throw new IOException($"lseek: {Errno.Last.Message}");
            return fd;
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>Reads and closes <paramref name="fd"/>; the state, or why it cannot be used (one line).</summary>
    public static HandoverState? Read(int fd, string bootId, out string? error)
    {
        error = null;
        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        byte[] bytes;
        try
        {
            var length = RandomAccess.GetLength(handle);
            if (length > Limits.MaxHandoverBytes)
            {
                error = $"the handover state is {length} bytes, more than {Limits.MaxHandoverBytes}";
                return null;
            }
            bytes = new byte[length];
            var read = 0;
            while (read < bytes.Length)
            {
                var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
                if (n == 0) break;
                read += n;
            }
            if (read != bytes.Length)
            {
                error = $"the handover state ended after {read} of {length} bytes";
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"the handover state (fd {fd}) cannot be read: {e.Message}";
            return null;
        }
        HandoverState? state;
        try
        {
            state = JsonSerializer.Deserialize(bytes, HandoverStateJson.Default.HandoverState);
        }
        catch (JsonException e)
        {
            error = $"the handover state is not valid: {e.Message}";
            return null;
        }
        error = state is null ? "the handover state is empty" : Check(state, bootId);
        return error is null ? state : null;
    }

    /// <summary>The longest deadline handed over: a day (a kill timeout or respawn delay is at most that in practice).</summary>
    private const long MaxDeadlineMs = 24L * 3600 * 1000;

    /// <summary>Every part a new supd relies on, checked before any of it is used; null when all is well.</summary>
    /// <param name="recorded">The survivors goals.json records for the next supd after a crash: pipes are named, not
    /// open (fd -1), and no descriptor is inherited.</param>
    public static string? Check(HandoverState state, string bootId, bool recorded = false)
    {
        if (!HandoverState.ReadableVersions.Contains(state.Version))
            return $"handover format {state.Version} is not one this supd reads ({string.Join(", ", HandoverState.ReadableVersions)})";
        if (state.BootId != bootId) return "the handover state is from another boot";
        if (state.Instances is null) return "the handover state lists no instances";
        if (state.Instances.Count > Limits.MaxGoalsEntries) return $"the handover state lists {state.Instances.Count} instances, more than {Limits.MaxGoalsEntries}";
        if (state.ListenFd is < 3 and not -1 || state.LockFd is < 3 and not -1) return "the handover state names a standard stream as a descriptor";
        if (recorded && (state.ListenFd != -1 || state.LockFd != -1)) return "the recorded state names a descriptor";
        if (state.ListenFd >= 3 && state.ListenFd == state.LockFd) return "the handover state names one descriptor twice";
        var fds = new HashSet<int> { state.ListenFd, state.LockFd };
        var keys = new HashSet<(string, string)>();
        var tags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in state.Instances)
        {
            if (instance is null || string.IsNullOrEmpty(instance.Job) || instance.Instance is null || instance.Tag is null
                || instance.StartVariables is null || instance.EnvFileValues is null || instance.Respawns is null || instance.Pipes is null)
                return "the handover state has an incomplete instance";
            var name = instance.Instance.Length == 0 ? instance.Job : $"{instance.Job} ({instance.Instance})";
            if (instance.State is not ("running" or "respawning" or "killed")) return $"{name}: handed over in state {instance.State}";
            if (instance.Goal is not ("start" or "stop")) return $"{name}: goal {instance.Goal}";
            if (instance.DefinitionSource is null) return $"{name}: no job definition";
            if (instance.DeadlineMs is < -1 or > MaxDeadlineMs) return $"{name}: a deadline {instance.DeadlineMs} ms away";
            if (!keys.Add((instance.Job, instance.Instance)) || (instance.Tag.Length > 0 && !tags.Add(instance.Tag)))
                return $"{name}: handed over twice";
            if (instance.Cgroup is null || instance.Cgroup.Split('/').Any(part => part is ".." or "."))
                return $"{name}: a cgroup path with . or ..";
            if (instance.MainPid is < 0 or 1 || instance.MainProcessGroup is < 0 or 1) return $"{name}: pid {instance.MainPid} cannot be a job's";
            if (Incomplete(instance.StartVariables) || Incomplete(instance.EnvFileValues) || Incomplete(instance.StopVariables)
                || Incomplete(instance.PendingStartVariables))
                return $"{name}: a variable without a name or value";
            if (instance.Pipes.Count > 2) return $"{name}: {instance.Pipes.Count} output pipes";
            foreach (var pipe in instance.Pipes)
            {
                if (pipe is null || pipe.Process is null || pipe.Pending is null || pipe.Name is null)
                    return $"{name}: an incomplete output pipe";
                if (pipe.Name.Length > 0 && !Processes.KeptPipeName.IsValid(pipe.Name)) return $"{name}: an output pipe named {Describe(pipe.Name)}";
                if (recorded ? pipe.Fd != -1 || pipe.Name.Length == 0 : pipe.Fd < 3 || !fds.Add(pipe.Fd))
                    return $"{name}: an output pipe without a descriptor of its own";
                if (pipe.Pending.Length > (Logs.JobOutputWriter.MaxMirrorLine + 2) / 3 * 4
                    || !Convert.TryFromBase64String(pipe.Pending, new byte[Logs.JobOutputWriter.MaxMirrorLine + 3], out _))
                    return $"{name}: a pending line that is not base64 of at most {Logs.JobOutputWriter.MaxMirrorLine} bytes";
            }
        }
        return null;
    }

    private static bool Incomplete(IReadOnlyList<HandedVariable>? variables) =>
        variables?.Any(v => v is null || v.Key is null || v.Value is null) == true;

    /// <summary>"supd handover formats: 1" — what <c>supd --handover-formats</c> prints, and what a re-exec asks the new binary.</summary>
    public static string FormatsLine => "supd handover formats: " + string.Join(' ', HandoverState.ReadableVersions);

    /// <summary>The formats a binary's <see cref="FormatsLine"/> names; empty when the text is not such a line.</summary>
    public static IReadOnlyList<int> ParseFormats(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        const string prefix = "supd handover formats: ";
        if (!line.StartsWith(prefix, StringComparison.Ordinal)) return [];
        var formats = new List<int>();
        foreach (var word in line[prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(word, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)) return [];
            formats.Add(version);
        }
        return formats;
    }

    internal static string Describe(string text) => text.Length == 0 ? "nothing" : text.Length > 200 ? text[..200] + "…" : text.Trim();
}
