using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Access;

/// <summary>
/// Variables cannot raise privilege (docs/access-control.md, "Variables"). A caller with <c>admin</c> (root, supd's
/// own user, an admin rule) may pass any variable, as in Upstart. Variables from anyone else, whether given to
/// start/restart/stop or carried by an event they emitted, reach a job only where the job itself asked for them:
/// <list type="bullet">
/// <item>the job declares the name: its <c>instance</c> stanza, or a <c>$NAME</c>/<c>${NAME…}</c> in one of its
/// processes or its <c>stop on</c> condition;</item>
/// <item>the job does not set the name itself (<c>env</c>, <c>export</c>, supd's <c>JobEnvironment</c>), and its
/// env-files win over such a variable;</item>
/// <item>the name is not one the loader, a shell or an interpreter reads on its own, nor one supd sets
/// (<see cref="IsReserved"/>), even where the job mentions it.</item>
/// </list>
/// A start, restart or stop carrying a variable outside this is refused as a whole; an event's are dropped for that
/// job only (the event itself still runs for the jobs that declare them).
/// </summary>
public static class VariablePolicy
{
    /// <summary>Read by the dynamic loader, libc, a shell or the login environment: never from a caller without admin.</summary>
    private static readonly FrozenSet<string> ReservedNames = new[]
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TERMINFO", "TERMCAP", "TZ", "TZDIR", "TMPDIR",
        "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH", "GLOBIGNORE", "PROMPT_COMMAND", "INPUTRC",
        "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NLSPATH", "NIS_PATH", "RES_OPTIONS",
        "RESOLV_HOST_CONF", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "SSL_CERT_FILE", "SSL_CERT_DIR",
        "EDITOR", "VISUAL", "PAGER", "LESSOPEN", "LESSCLOSE", EventIds.Variables.Job, EventIds.Variables.Instance,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Families of variables programs act on without being told: loader, glibc, interpreters, supd's own.</summary>
    private static readonly string[] ReservedPrefixes =
    [
        "LD_", "GLIBC_", "MALLOC_", "BASH_FUNC_", "UPSTART_", "SUPD_", "PYTHON", "PERL", "RUBY", "NODE_", "JAVA_", "_JAVA_",
        "JDK_", "DOTNET_", "COMPlus_", "CORECLR_", "LUA_", "GIT_", "XDG_",
    ];

    private static readonly ConditionalWeakTable<JobDefinition, FrozenSet<string>> Declared = new();

    /// <summary>A name no caller without admin may set, whatever the job says.</summary>
    public static bool IsReserved(string name)
    {
        if (ReservedNames.Contains(name)) return true;
        foreach (var prefix in ReservedPrefixes)
            if (name.StartsWith(prefix, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>A shell variable name: a letter or <c>_</c>, then letters, digits, <c>_</c>.</summary>
    public static bool IsName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.AsSpan().IndexOfAnyExcept(NameChars) < 0;

    private static readonly System.Buffers.SearchValues<char> NameChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

    /// <summary>Why <paramref name="job"/> does not accept <paramref name="name"/> from a caller without admin; null when it does.</summary>
    /// <param name="supdSets">Names supd gives every job (its <c>JobEnvironment</c> setting).</param>
    public static string? Refusal(JobDefinition job, string name, IEnumerable<string> supdSets)
    {
        if (!IsName(name)) return $"\"{Printable(name)}\" is not a variable name";
        if (IsReserved(name)) return $"{name} is a loader, shell or supd variable (only admin may set it)";
        if (SetByJob(job, name) || supdSets.Contains(name, StringComparer.Ordinal))
            return $"{job.Name} sets {name} itself (only admin may override it)";
        if (!DeclaredBy(job).Contains(name))
            return $"{job.Name} does not declare {name} (a job declares a variable in its instance stanza or as ${name} in its processes)";
        return null;
    }

    /// <summary>Refuses the first variable of <paramref name="environment"/> the job does not accept from <paramref name="caller"/>.</summary>
    /// <exception cref="Lifecycle.SupervisorException">PermissionDenied, naming the variable and why.</exception>
    public static void Check(JobDefinition job, IEnumerable<string> environment, string caller, IEnumerable<string> supdSets)
    {
        foreach (var entry in environment)
        {
            var (name, _) = EnvironmentList.Split(entry);
            if (Refusal(job, name, supdSets) is { } why)
                throw new Lifecycle.SupervisorException(Lifecycle.SupervisorError.PermissionDenied,
                    $"permission denied: {caller} may not set variable {Printable(name)}: {why}");
        }
    }

    /// <summary>Refuses a variable in an event from a caller without admin that no job could be allowed to take.</summary>
    public static void CheckEvent(IEnumerable<string> environment, string caller)
    {
        foreach (var entry in environment)
        {
            var (name, _) = EnvironmentList.Split(entry);
            if (!IsName(name) || IsReserved(name))
                throw new Lifecycle.SupervisorException(Lifecycle.SupervisorError.PermissionDenied,
                    $"permission denied: {caller} may not emit variable {Printable(name)}: " +
                    (IsName(name) ? "a loader, shell or supd variable (only admin may set it)" : "not a variable name"));
        }
    }

    /// <summary>The names a job declares as its inputs (cached per definition: a job file is parsed once per load).</summary>
    public static FrozenSet<string> DeclaredBy(JobDefinition job) => Declared.GetValue(job, Collect);

    private static FrozenSet<string> Collect(JobDefinition job)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        References(job.Instance, names);
        foreach (var kind in ProcessKinds.All)
            if (kind.Command(job) is { } process) References(process.Text, names);
        if (job.StopOn is not null) ExpressionReferences(job.StopOn, names);
        return names.ToFrozenSet(StringComparer.Ordinal);
    }

    private static void ExpressionReferences(EventExpression expression, HashSet<string> names)
    {
        // Iterative: the tree is bounded by the parser, but nothing here needs the stack.
        var pending = new Stack<EventExpression>();
        pending.Push(expression);
        while (pending.TryPop(out var node))
        {
            switch (node)
            {
                case EventAnd and: pending.Push(and.Left); pending.Push(and.Right); break;
                case EventOr or: pending.Push(or.Left); pending.Push(or.Right); break;
                case EventMatch match:
                    foreach (var argument in match.Arguments) References(argument.Pattern, names);
                    break;
            }
        }
    }

    /// <summary>Every <c>$NAME</c> and <c>${NAME…}</c> in <paramref name="text"/>.</summary>
    internal static void References(string text, HashSet<string> names)
    {
        for (var i = text.IndexOf('$', StringComparison.Ordinal); i >= 0 && i < text.Length; i = text.IndexOf('$', i + 1))
        {
            var start = i + 1;
            if (start < text.Length && text[start] == '{') start++;
            var end = start;
            if (end < text.Length && (char.IsAsciiLetter(text[end]) || text[end] == '_'))
                while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
            if (end > start) names.Add(text[start..end]);
        }
    }

    private static bool SetByJob(JobDefinition job, string name)
    {
        foreach (var entry in job.Env)
            if (EnvironmentList.Split(entry).Key == name) return true;
        return job.Export.Contains(name, StringComparer.Ordinal);
    }

    private static string Printable(string name)
    {
        var shown = name.Length > 64 ? name[..64] + "…" : name;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
    }
}
