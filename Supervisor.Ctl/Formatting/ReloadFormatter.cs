using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl reload-configuration</c>'s text: one line per job that was added, changed or removed
/// (<c>added: web</c>, <c>changed: db (running instances apply it at their next start)</c>, <c>removed: old</c>), or
/// <c>no changes</c>. Errors (<c>PATH:LINE: message</c>) go to stderr.
/// </summary>
internal static class ReloadFormatter
{
    public static IEnumerable<string> Lines(ReloadConfigurationReply reply)
    {
        foreach (var job in reply.Added) yield return $"added: {job}";
        foreach (var job in reply.Changed) yield return $"changed: {job}";
        foreach (var job in reply.Removed) yield return $"removed: {job}";
        if (reply.Added.Count + reply.Changed.Count + reply.Removed.Count == 0) yield return "no changes";
    }
}
