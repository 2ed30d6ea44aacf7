namespace Supervisor.Core.Events;

// TEMPORARY: replaced by the language branch's implementation on merge.
public static class EnvironmentExpander
{
    public static bool TryExpand(string text, Func<string, string?> lookup, out string result, out string? error)
    {
        result = text;
        error = null;
        return true;
    }
}
