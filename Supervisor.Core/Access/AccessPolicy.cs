using System.Globalization;

namespace Supervisor.Core.Access;

/// <summary>The user and group database, by name and by id (the system's through NSS, or a test's table).</summary>
public interface IAccountDatabase
{
    uint? UserId(string name);
    uint? GroupId(string name);
    string? UserName(uint uid);
    string? GroupName(uint gid);
}

/// <summary>A rule in the form <see cref="AccessPolicy"/> decides with: names resolved to ids, rights parsed.</summary>
public sealed record AccessRule(int Number, uint? Uid, uint? Gid, string Subject, IReadOnlyList<string> Jobs, IReadOnlyList<AccessRight> Rights)
{
    public bool IsDaemonWide => Jobs.Count == 0;

    public bool AppliesTo(Caller caller) => Uid is { } uid ? caller.Uid == uid : caller.InGroup(Gid!.Value);

    /// <summary>True for a daemon-wide rule, and for a per-job rule when <paramref name="job"/> matches one of its patterns.</summary>
    public bool Covers(string? job) => IsDaemonWide || (job is not null && Jobs.Any(pattern => Matches(pattern, job)));

    /// <summary>"rule 2 (user alice, jobs team-a/*)".</summary>
    public string Describe() => IsDaemonWide ? $"rule {Number} ({Subject})" : $"rule {Number} ({Subject}, jobs {string.Join(" ", Jobs)})";

    /// <summary>A pattern is a job name, or a prefix followed by a trailing <c>*</c>.</summary>
    public static bool Matches(string pattern, string job) =>
        pattern.EndsWith('*') ? job.StartsWith(pattern[..^1], StringComparison.Ordinal) : string.Equals(pattern, job, StringComparison.Ordinal);
}

/// <summary>The outcome of one request: allowed or not, the right it needed, and what decided ("root", a rule, "no rule").</summary>
public sealed record AccessDecision(bool Allowed, AccessRight Right, string DecidedBy);

/// <summary>What a caller may do: everything (<see cref="Everything"/> says why), or the rules that grant it rights.</summary>
public sealed record EffectiveAccess(string? Everything, IReadOnlyList<AccessRight> DaemonWide, IReadOnlyList<AccessRule> Rules);

/// <summary>A configuration mistake in the access rules: supd says it and does not start.</summary>
public sealed class AccessConfigurationException(string message) : Exception(message);

/// <summary>
/// Access control, one pure decision. Root and supd's own user hold every right. Everyone else holds what the rules
/// grant them by user or group: daemon-wide, or on matching jobs only. A verb without a job (list, emit, …) needs the
/// right daemon-wide. Rules only add; nothing matches, nothing is allowed.
/// </summary>
public sealed class AccessPolicy(IReadOnlyList<AccessRule> rules, uint supdUid)
{
    public IReadOnlyList<AccessRule> Rules { get; } = rules;
    public uint SupdUid { get; } = supdUid;

    /// <summary>Builds the policy from supd.json's rules; a rule that cannot mean anything is an <see cref="AccessConfigurationException"/>.</summary>
    public static AccessPolicy Create(AccessOptions? options, uint supdUid, IAccountDatabase accounts)
    {
        var rules = new List<AccessRule>();
        foreach (var (rule, index) in (options?.Rules ?? []).Select((r, i) => (r, i + 1)))
            rules.Add(Resolve(rule, index, accounts));
        return new AccessPolicy(rules, supdUid);
    }

    private static AccessRule Resolve(AccessRuleOptions rule, int number, IAccountDatabase accounts)
    {
        string Fail(string problem) => throw new AccessConfigurationException($"access rule {number}: {problem}");

        var hasUser = !string.IsNullOrWhiteSpace(rule.User);
        var hasGroup = !string.IsNullOrWhiteSpace(rule.Group);
        if (hasUser == hasGroup) Fail("give exactly one of \"User\" or \"Group\"");
        if (rule.Rights.Count == 0) Fail("no \"Rights\" (read, control, admin)");
        var rights = new List<AccessRight>();
        foreach (var name in rule.Rights)
        {
            var right = AccessRights.Parse(name) ?? throw new AccessConfigurationException($"access rule {number}: unknown right \"{name}\" (read, control, admin)");
            if (!rights.Contains(right)) rights.Add(right);
        }
        foreach (var pattern in rule.Jobs)
        {
            if (string.IsNullOrWhiteSpace(pattern) || pattern.IndexOf('*', StringComparison.Ordinal) is var star && star >= 0 && star != pattern.Length - 1)
                Fail($"job pattern \"{pattern}\": a job name, optionally ending in *");
        }
        if (rule.Jobs.Count > 0 && rights.Contains(AccessRight.Admin)) Fail("admin is daemon-wide; it cannot be limited to jobs");

        if (hasUser)
        {
            var name = rule.User!.Trim();
            var uid = accounts.UserId(name) ?? NumericId(name) ?? throw new AccessConfigurationException($"access rule {number}: unknown user: {name}");
            return new AccessRule(number, uid, null, $"user {name}", rule.Jobs.ToArray(), rights);
        }
        var group = rule.Group!.Trim();
        var gid = accounts.GroupId(group) ?? NumericId(group) ?? throw new AccessConfigurationException($"access rule {number}: unknown group: {group}");
        return new AccessRule(number, null, gid, $"group {group}", rule.Jobs.ToArray(), rights);
    }

    // Callers without an entry in this system's database (a container's uid) are named by number.
    private static uint? NumericId(string text) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>
    /// May <paramref name="caller"/> use <paramref name="right"/> on <paramref name="job"/> (daemon-wide when the
    /// request names no job; an emit names none: it is never job-specific)?
    /// </summary>
    public AccessDecision Decide(Caller caller, AccessRight right, string? job)
    {
        if (Everything(caller) is { } why) return new AccessDecision(true, right, why);
        var target = string.IsNullOrEmpty(job) ? null : job;
        foreach (var rule in Rules)
        {
            if (rule.AppliesTo(caller) && rule.Rights.Contains(right) && rule.Covers(target))
                return new AccessDecision(true, right, rule.Describe());
        }
        return new AccessDecision(false, right, "no rule");
    }

    /// <summary>Does <paramref name="caller"/> hold <c>admin</c> (daemon-wide, the only way it is granted)? Only then are its variables unrestricted.</summary>
    public bool HoldsAdmin(Caller caller) =>
        Everything(caller) is not null || Rules.Any(rule => rule.AppliesTo(caller) && rule.Rights.Contains(AccessRight.Admin));

    /// <summary>Everything <paramref name="caller"/> may do, for <c>supctl access</c>.</summary>
    public EffectiveAccess Describe(Caller caller)
    {
        if (Everything(caller) is { } why) return new EffectiveAccess(why, [AccessRight.Read, AccessRight.Control, AccessRight.Admin], []);
        var applying = Rules.Where(r => r.AppliesTo(caller)).ToArray();
        var daemonWide = applying.Where(r => r.IsDaemonWide).SelectMany(r => r.Rights).Distinct().Order().ToArray();
        return new EffectiveAccess(null, daemonWide, applying);
    }

    private string? Everything(Caller caller) =>
        caller.Uid == 0 ? "root" : caller.Uid == SupdUid ? "supd's own user" : null;
}
