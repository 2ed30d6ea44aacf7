using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl access</c>'s text:
/// <code>
/// alice (uid 1001; groups alice team-a)
/// daemon-wide: read
/// jobs team-a/*: control
/// granted by:
///   rule 1 (group team-a): read
///   rule 2 (group team-a, jobs team-a/*): control
/// </code>
/// </summary>
internal static class AccessFormatter
{
    public static IEnumerable<string> Lines(AccessReply reply)
    {
        yield return $"{reply.User} (uid {reply.Uid}; groups {string.Join(' ', reply.Groups)})";
        if (reply.Everything.Length > 0)
        {
            yield return $"daemon-wide: {string.Join(", ", reply.DaemonWide)} (as {reply.Everything})";
            yield break;
        }
        yield return $"daemon-wide: {(reply.DaemonWide.Count == 0 ? "none" : string.Join(", ", reply.DaemonWide))}";
        foreach (var rule in reply.Rules.Where(r => r.Jobs.Count > 0))
            yield return $"jobs {string.Join(' ', rule.Jobs)}: {string.Join(", ", rule.Rights)}";
        if (reply.Rules.Count == 0)
        {
            yield return "granted by: no rule";
            yield break;
        }
        yield return "granted by:";
        foreach (var rule in reply.Rules) yield return $"  {rule.Rule}: {string.Join(", ", rule.Rights)}";
    }
}
