using System.Globalization;
using System.Runtime.InteropServices;

namespace Supervisor.Core.Configuration;

/// <summary>
/// Where supd keeps things when nothing says otherwise: system paths for root, XDG paths for anyone else.
/// Shared by supd and supctl (linked into the client), so both agree on the socket without configuration.
/// </summary>
public static partial class DefaultPaths
{
    public const string SocketFileName = "supd.sock";

    public static uint CurrentUid => GetEuid();

    public static string Socket(uint uid, Func<string, string?> environment)
    {
        if (uid == 0) return "/run/supd/" + SocketFileName;
        var runtimeDir = environment("XDG_RUNTIME_DIR");
        return string.IsNullOrEmpty(runtimeDir)
            ? $"/tmp/supd-{uid.ToString(CultureInfo.InvariantCulture)}/{SocketFileName}"
            : Path.Combine(runtimeDir, "supd", SocketFileName);
    }

    public static string JobDirectory(uint uid, Func<string, string?> environment) =>
        uid == 0 ? "/etc/supd/init" : Path.Combine(ConfigHome(environment), "supd", "init");

    public static string LogDirectory(uint uid, Func<string, string?> environment) =>
        uid == 0 ? "/var/log/supd" : Path.Combine(StateHome(environment), "supd", "log");

    public static string StateDirectory(uint uid, Func<string, string?> environment) =>
        uid == 0 ? "/var/lib/supd" : Path.Combine(StateHome(environment), "supd");

    /// <summary>The optional supd.json read when no --config is given.</summary>
    public static string ConfigFile(uint uid, Func<string, string?> environment) =>
        uid == 0 ? "/etc/supd/supd.json" : Path.Combine(ConfigHome(environment), "supd", "supd.json");

    private static string ConfigHome(Func<string, string?> environment) =>
        NonEmpty(environment("XDG_CONFIG_HOME")) ?? Path.Combine(Home(environment), ".config");

    private static string StateHome(Func<string, string?> environment) =>
        NonEmpty(environment("XDG_STATE_HOME")) ?? Path.Combine(Home(environment), ".local", "state");

    private static string Home(Func<string, string?> environment) =>
        NonEmpty(environment("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
