using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Supervisor.Core;
using Supervisor.Core.Access;
using Supervisor.Core.Configuration;
using Supervisor.Core.Lifecycle;
using Supervisor.Daemon.Access;

namespace Supervisor.Daemon.Hosting;

/// <summary>The control socket (<c>Socket</c>, <c>SocketMode</c>, <c>SocketGroup</c>; <c>SUPD_SOCKET</c>, …; <c>--socket</c>).</summary>
public sealed class ControlSocketOptions
{
    /// <summary>The socket's path, absolute once configured; not set: the default for supd's user.</summary>
    public string? Socket { get; set; }

    /// <summary>The control socket's permissions, in octal. Connecting needs write permission on it.</summary>
    public string SocketMode { get; set; } = Defaults.Daemon.SocketMode;

    /// <summary>The control socket's group, by name; not set: supd's own group.</summary>
    public string? SocketGroup { get; set; }

    /// <summary>SocketMode as octal ("0660"); anything else is a <see cref="StartupException"/>.</summary>
    public static UnixFileMode ParseSocketMode(string text)
    {
        try
        {
            var mode = Convert.ToInt32(text.Trim(), 8);
            if (mode is >= 0 and <= 0x1FF) return (UnixFileMode)mode;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
        }
        throw new StartupException($"SocketMode is not an octal permission mode (like 0660): {text}");
    }

    /// <summary>SocketGroup's gid, looked up in the user database (NSS); not set: null (supd's own group).</summary>
    public uint? ResolveSocketGroup()
    {
        if (string.IsNullOrWhiteSpace(SocketGroup)) return null;
        return SystemAccounts.Instance.GroupId(SocketGroup.Trim()) ?? throw new StartupException($"SocketGroup: unknown group: {SocketGroup}");
    }
}

public sealed class ControlSocketOptionsValidator : IValidateOptions<ControlSocketOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlSocketOptions options) =>
        SupdOptionsRegistration.Check(() => ControlSocketOptions.ParseSocketMode(options.SocketMode), () => options.ResolveSocketGroup());
}
