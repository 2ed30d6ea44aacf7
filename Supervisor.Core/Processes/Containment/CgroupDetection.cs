using System.Globalization;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// Decides at start whether supd can give each job instance a cgroup, from /proc/self/mountinfo (where a cgroup2
/// hierarchy is mounted), /proc/self/cgroup (supd's own v2 group, the <c>0::/PATH</c> line) and what supd may write:
/// <list type="number">
/// <item>the hierarchy's root is writable (root on pure v2, on the v2 half of a hybrid setup, or in a container with
/// its own cgroup namespace): jobs go under <c>MOUNT/NAME</c>, and supd stays where it is;</item>
/// <item>supd's own group is delegated to it (systemd's <c>Delegate=yes</c>: owned by supd's user, or marked with the
/// <c>trusted.delegate</c> xattr systemd sets, which is how a delegated root-run supd is told apart): supd moves itself
/// into the leaf <c>OWN/supd</c> (a v2 group with children may hold no processes once controllers are on) and puts the
/// jobs beside it, under <c>OWN/jobs</c>, so <c>systemctl stop</c> still reaches every job;</item>
/// <item>else process groups, with the reason.</item>
/// </list>
/// Paths from the files are taken under <see cref="CgroupProbe.Root"/>, so the unit tests lay out a fake tree.
/// </summary>
public static class CgroupDetection
{
    /// <summary>The leaf of a delegated group supd moves itself into (the jobs go beside it, in <c>jobs</c>).</summary>
    public const string LeafName = "supd";

    public static ContainmentMode Detect(CgroupProbe probe, string name)
    {
        var mount = FindCgroup2Mount(probe.MountInfo);
        if (mount is null) return ContainmentMode.ProcessGroups("no cgroup v2 hierarchy is mounted");
        var hierarchy = probe.Under(mount);
        if (!Directory.Exists(hierarchy)) return ContainmentMode.ProcessGroups($"the cgroup v2 mount {mount} is not there");

        var own = OwnGroup(probe.SelfCgroup);
        // Re-executed (or restarted in place) under systemd, supd is already in the leaf it moved itself into
        // (OWN/supd), which carries no delegation mark: the delegated group is the leaf's parent.
        if (own is not null && own != "/" && Path.GetFileName(own) == LeafName && Path.GetDirectoryName(own) is { Length: > 1 } parent
            && probe.Under(Path.Join(mount, parent)) is var parentDir && Directory.Exists(parentDir) && probe.IsDelegated(parentDir))
            own = parent;
        var ownDir = own is null or "/" ? null : probe.Under(Path.Join(mount, own));
        if (ownDir is not null && Directory.Exists(ownDir) && probe.IsDelegated(ownDir) && probe.IsWritable(ownDir)
            && probe.IsWritable(Path.Join(ownDir, "cgroup.procs")))
            return new ContainmentMode(hierarchy, Path.Join(ownDir, "jobs"), Path.Join(ownDir, LeafName), $"delegated {own}");

        if (probe.IsWritable(hierarchy) && probe.IsWritable(Path.Join(hierarchy, "cgroup.procs")))
            return new ContainmentMode(hierarchy, Path.Join(hierarchy, name), null, "root");

        return ContainmentMode.ProcessGroups(own is null
            ? $"cgroup v2 at {mount} is not writable and supd is in no v2 group"
            : $"cgroup v2 at {mount} is not writable by uid {probe.Uid} and supd's group {own} is not delegated to it");
    }

    /// <summary>The first cgroup2 mount of the whole hierarchy (mountinfo's root field "/"), or null.</summary>
    internal static string? FindCgroup2Mount(string mountInfo)
    {
        foreach (var line in mountInfo.Split('\n'))
        {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var after = line[(separator + 3)..].Split(' ');
            if (after[0] != "cgroup2") continue;
            var fields = line[..separator].Split(' ');
            if (fields.Length < 5 || fields[3] != "/") continue;
            return Unescape(fields[4]);
        }
        return null;
    }

    /// <summary>The path of the <c>0::PATH</c> line of /proc/self/cgroup, or null.</summary>
    internal static string? OwnGroup(string selfCgroup)
    {
        foreach (var line in selfCgroup.Split('\n'))
            if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..].Trim();
        return null;
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var result = new System.Text.StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && int.TryParse(field.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                result.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else result.Append(field[i]);
        }
        return result.ToString();
    }
}

/// <summary>
/// What <see cref="CgroupDetection"/> reads: the two /proc files, and the questions it asks of the file system,
/// under <see cref="Root"/> ("/" for real; a temp dir laid out like cgroupfs in tests).
/// </summary>
public sealed record CgroupProbe(string Root, string MountInfo, string SelfCgroup, uint Uid)
{
    /// <summary>Whether supd may write PATH; access(2) by default.</summary>
    public Func<string, bool> IsWritable { get; init; } = path => Libc.Access(path, Libc.W_OK) == 0;

    /// <summary>
    /// Whether supd's own group was delegated to it: owned by supd's own non-root user, or marked by systemd's
    /// <c>trusted.delegate</c> / <c>user.delegate</c> xattr.
    /// </summary>
    public Func<string, bool> IsDelegated { get; init; } = path => IsDelegatedDirectory(path);

    public static CgroupProbe FromSystem() =>
        new("/", ReadOrEmpty("/proc/self/mountinfo"), ReadOrEmpty("/proc/self/cgroup"), Libc.GetEuid());

    internal string Under(string path) => Root == "/" ? path : Path.Join(Root, path);

    private static string ReadOrEmpty(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static unsafe bool IsDelegatedDirectory(string path)
    {
        var uid = Libc.GetEuid();
        if (uid != 0 && OwnerOf(path) == uid) return true;
        byte value;
        return Libc.GetXattr(path, "trusted.delegate", &value, 1) > 0 || Libc.GetXattr(path, "user.delegate", &value, 1) > 0;
    }

    private static unsafe uint? OwnerOf(string path)
    {
        Libc.Statx stat;
        using var native = new NativeString(path);
        return Libc.StatX(Libc.AT_FDCWD, native.Pointer, 0, Libc.STATX_BASIC_STATS, &stat) == 0 ? stat.Uid : null;
    }
}
