namespace Supervisor.Core.Access;

/// <summary>
/// The <c>Access</c> section of supd.json: a list of rules, each granting rights to one user or one group, daemon-wide
/// or (with <see cref="AccessRuleOptions.Jobs"/>) on matching jobs only. Rules only ever add rights; root and supd's
/// own user hold every right without a rule.
/// </summary>
public sealed class AccessOptions
{
    public List<AccessRuleOptions> Rules { get; set; } = [];
}

/// <summary>One rule as written: exactly one of User or Group (a name, or a numeric id), Rights, optional Jobs.</summary>
public sealed class AccessRuleOptions
{
    public string? User { get; set; }
    public string? Group { get; set; }

    /// <summary>Job names; a trailing <c>*</c> matches any suffix (<c>team-a/*</c>). Empty: daemon-wide.</summary>
    public List<string> Jobs { get; set; } = [];

    /// <summary><c>read</c>, <c>control</c>, <c>admin</c>.</summary>
    public List<string> Rights { get; set; } = [];
}
