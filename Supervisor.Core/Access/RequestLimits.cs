using System.Text;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Core.Access;

/// <summary>
/// The bounds on a control request, checked by the daemon as the request arrives, before the supervision loop sees
/// it: a request over one is refused whole, in time linear in its size, and never costs the loop anything.
/// </summary>
public static class RequestLimits
{
    /// <summary>Refuses a request whose variables or names are over <see cref="Limits"/>.</summary>
    /// <exception cref="SupervisorException">TooLarge or InvalidArgument, naming the limit.</exception>
    public static void Check(IReadOnlyList<string> environment, params string?[] names)
    {
        if (environment.Count > Limits.MaxRequestVariables)
            throw new SupervisorException(SupervisorError.TooLarge,
                $"too many variables ({environment.Count} > {Limits.MaxRequestVariables})");
        foreach (var entry in environment)
        {
            var bytes = Encoding.UTF8.GetByteCount(entry);
            if (bytes > Limits.MaxVariableBytes)
                throw new SupervisorException(SupervisorError.TooLarge,
                    $"variable {Head(entry)} too long ({Limits.Bytes(bytes)} > {Limits.Bytes(Limits.MaxVariableBytes)})");
            // The environment handed to execve is NUL-terminated strings: a NUL would silently cut the value.
            if (entry.IndexOf('\0', StringComparison.Ordinal) >= 0)
                throw new SupervisorException(SupervisorError.InvalidArgument, $"variable {Head(entry)} contains a NUL character");
        }
        foreach (var name in names)
        {
            if (name is null) continue;
            if (Encoding.UTF8.GetByteCount(name) > Limits.MaxNameBytes)
                throw new SupervisorException(SupervisorError.TooLarge,
                    $"name too long ({Limits.Bytes(Encoding.UTF8.GetByteCount(name))} > {Limits.Bytes(Limits.MaxNameBytes)})");
            if (name.IndexOf('\0', StringComparison.Ordinal) >= 0)
                throw new SupervisorException(SupervisorError.InvalidArgument, "name contains a NUL character");
        }
    }

    private static string Head(string entry)
    {
        var key = Events.EnvironmentList.Split(entry).Key;
        return key.Length > 64 ? key[..64] + "…" : key.Replace("\0", "\\0", StringComparison.Ordinal);
    }
}
