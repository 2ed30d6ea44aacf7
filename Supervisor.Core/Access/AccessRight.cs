namespace Supervisor.Core.Access;

/// <summary>The three rights a caller can hold. Every verb needs exactly one of them.</summary>
public enum AccessRight
{
    /// <summary>Look: list, status, show-config, check-config, log, events, version, usage, access.</summary>
    Read,

    /// <summary>Act on jobs: start, stop, restart, reload, emit.</summary>
    Control,

    /// <summary>Change supd itself: reload-configuration, reopen-logs, and any RPC that does not declare its right.</summary>
    Admin,
}

/// <summary>The rights' names as configuration spells them. Which right each RPC needs is the API's own
/// <c>(right)</c> method option (protos/supervisor.proto), read by the daemon's access interceptor.</summary>
public static class AccessRights
{
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
