using System.Globalization;

namespace Supervisor.Core.Processes;

/// <summary>One resource limit for the job: its stanza name, its number (RLIMIT_*), soft and hard value.</summary>
internal readonly record struct HelperLimit(string Name, int Resource, ulong Soft, ulong Hard);

/// <summary>
/// What the exec helper applies before it execs the job, parsed from the options <see cref="ExecHelper.BuildCommand"/>
/// writes (<c>--exec-helper OPTIONS -- FILE ARGV…</c>). Read by the helper started per spawn and by the fork server
/// (<see cref="Forking.ForkServer"/>), so both apply the same settings from the same words.
/// </summary>
internal sealed class ExecHelperOptions
{
    public string? Cgroup { get; private set; }
    public List<HelperLimit> Limits { get; } = [];
    public uint? Umask { get; private set; }
    public int? Nice { get; private set; }
    public string? OomScore { get; private set; }
    public string? Chroot { get; private set; }
    public string? Chdir { get; private set; }
    public uint[]? Groups { get; private set; }
    public uint? Gid { get; private set; }
    public uint? Uid { get; private set; }
    /// <summary>Variables supd added for the helper's own runtime, as <c>NAME=</c> prefixes: the job does not get them.</summary>
    public List<string> StripEnvironment { get; } = [];
    public string File { get; private set; } = "";
    /// <summary>The job's argv, argv[0] included.</summary>
    public string[] Arguments { get; private set; } = [];

    /// <summary>
    /// Parses <paramref name="args"/> (args[0] is <see cref="ExecHelper.Flag"/>); null with the reason when they are not
    /// the helper's, and the stanza it concerns (<c>limit</c>, or empty) for the helper's report.
    /// </summary>
    public static ExecHelperOptions? Parse(IReadOnlyList<string> args, out string error) => Parse(args, out error, out _);

    /// <inheritdoc cref="Parse(IReadOnlyList{string}, out string)"/>
    public static ExecHelperOptions? Parse(IReadOnlyList<string> args, out string error, out string stanza)
    {
        error = "";
        stanza = "";
        var options = new ExecHelperOptions();
        var i = 1;
        for (; i < args.Count && args[i] != "--"; i++)
        {
            var option = args[i];
            var value = i + 1 < args.Count ? args[++i] : "";
            switch (option)
            {
                case "--limit":
                    var parts = value.Split(':');
                    if (parts.Length != 3 || !ResourceLimits.TryGetNumber(parts[0], out var resource)
                        || !TryParseLimit(parts[1], out var soft) || !TryParseLimit(parts[2], out var hard))
                    {
                        error = $"unknown resource limit: {value}";
                        stanza = "limit";
                        return null;
                    }
                    options.Limits.Add(new HelperLimit(parts[0], resource, soft, hard));
                    break;
                case "--cgroup": options.Cgroup = value; break;
                case "--umask":
                    if (!TryOctal(value, out var umask)) return Invalid(option, value, out error);
                    options.Umask = umask;
                    break;
                case "--nice":
                    if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var nice)) return Invalid(option, value, out error);
                    options.Nice = nice;
                    break;
                case "--oom":
                    if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return Invalid(option, value, out error);
                    options.OomScore = value;
                    break;
                case "--chroot": options.Chroot = value; break;
                case "--chdir": options.Chdir = value; break;
                case "--groups":
                    var groups = new List<uint>();
                    foreach (var group in value.Split(','))
                    {
                        if (!uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var g)) return Invalid(option, value, out error);
                        groups.Add(g);
                    }
                    options.Groups = [.. groups];
                    break;
                case "--gid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var gid)) return Invalid(option, value, out error);
                    options.Gid = gid;
                    break;
                case "--uid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var uid)) return Invalid(option, value, out error);
                    options.Uid = uid;
                    break;
                case "--strip-env": options.StripEnvironment.Add(value + "="); break;
                default:
                    error = $"exec helper: unknown option {option}";
                    return null;
            }
        }
        if (i + 2 > args.Count)
        {
            error = "exec helper: no program given";
            return null;
        }
        options.File = args[i + 1];
        options.Arguments = [.. args.Skip(i + 2)];
        // A chroot without a directory of its own starts at the new root.
        if (options.Chroot is not null) options.Chdir ??= "/";
        return options;
    }

    private static ExecHelperOptions? Invalid(string option, string value, out string error)
    {
        error = $"exec helper: {option} {value}: not a number";
        return null;
    }

    private static bool TryOctal(string text, out uint value)
    {
        value = 0;
        if (text.Length is 0 or > 11) return false;
        foreach (var c in text)
        {
            if (c is < '0' or > '7') return false;
            value = value * 8 + (uint)(c - '0');
        }
        return true;
    }

    private static bool TryParseLimit(string text, out ulong value)
    {
        if (text == "unlimited")
        {
            value = Interop.Libc.RLIM_INFINITY;
            return true;
        }
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
