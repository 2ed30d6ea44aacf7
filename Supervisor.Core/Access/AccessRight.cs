namespace Supervisor.Core.Access;

/// <summary>The three rights a caller can hold. Every verb needs exactly one of them.</summary>
public enum AccessRight
{
    /// <summary>Look: list, status, show-config, check-config, log, events, version, usage, access.</summary>
    Read,

    /// <summary>Act on jobs: start, stop, restart, reload, emit.</summary>
    Control,

    /// <summary>Change supd itself: reload-configuration, reopen-logs, and any verb not listed here.</summary>
    Admin,
}

/// <summary>Which right each verb needs, and the rights' names as configuration spells them.</summary>
public static class AccessVerbs
{
    private static readonly Dictionary<string, AccessRight> Verbs = new(StringComparer.Ordinal)
    {
        ["list"] = AccessRight.Read,
        ["status"] = AccessRight.Read,
        ["show"] = AccessRight.Read,
        ["show-config"] = AccessRight.Read,
        ["check-config"] = AccessRight.Read,
        ["log"] = AccessRight.Read,
        ["events"] = AccessRight.Read,
        ["version"] = AccessRight.Read,
        ["usage"] = AccessRight.Read,
        ["access"] = AccessRight.Read,
        ["start"] = AccessRight.Control,
        ["stop"] = AccessRight.Control,
        ["restart"] = AccessRight.Control,
        ["reload"] = AccessRight.Control,
        // What starts a job automatically is as much the job's operator's business as starting and stopping it.
        ["disable"] = AccessRight.Control,
        ["enable"] = AccessRight.Control,
        ["emit"] = AccessRight.Control,
        ["reload-configuration"] = AccessRight.Admin,
        ["reopen-logs"] = AccessRight.Admin,
    };

    /// <summary>The right <paramref name="verb"/> needs; a verb this table does not know needs admin (fail closed).</summary>
    public static AccessRight RightFor(string verb) => Verbs.TryGetValue(verb, out var right) ? right : AccessRight.Admin;

    public static string Name(AccessRight right) => right switch
    {
        AccessRight.Read => "read",
        AccessRight.Control => "control",
        _ => "admin",
    };

    public static AccessRight? Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "read" => AccessRight.Read,
        "control" => AccessRight.Control,
        "admin" => AccessRight.Admin,
        _ => null,
    };
}
