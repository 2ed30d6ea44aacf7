namespace Supervisor.Core.Events;

// TEMPORARY: replaced by the language branch's implementation on merge.
public static class Glob
{
    public static bool Match(string pattern, string text) => pattern == "*" || pattern == text;
}
