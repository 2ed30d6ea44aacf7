using Supervisor.Core.Language;

namespace Supervisor.Core.Processes;

/// <summary>
/// The per-process stanzas of a job (spec §6), as the process control applies them to every job process. Empty
/// settings (the default) need nothing beyond posix_spawn; anything else goes through the exec helper.
/// </summary>
public sealed record ProcessSettings
{
    public static readonly ProcessSettings Default = new();

    public int Umask { get; init; } = Defaults.Job.Umask;

    /// <summary>A hint where negative: applied if the kernel lets supd, else reported as not applied.</summary>
    public int? Nice { get; init; }

    /// <summary>A hint where it lowers the score: applied if the kernel lets supd, else reported as not applied.</summary>
    public int? OomScore { get; init; }

    /// <summary><c>limit</c> stanzas by Upstart's resource name.</summary>
    public IReadOnlyDictionary<string, ResourceLimit> Limits { get; init; } = new Dictionary<string, ResourceLimit>();

    public string? Chroot { get; init; }
    public string? Setuid { get; init; }
    public string? Setgid { get; init; }
    public ConsoleMode Console { get; init; } = Defaults.Job.Console;

    public static ProcessSettings From(JobDefinition definition) => new()
    {
        Umask = definition.Umask ?? Defaults.Job.Umask,
        Nice = definition.Nice,
        OomScore = definition.OomScore,
        Limits = definition.Limits,
        Chroot = definition.Chroot,
        Setuid = definition.Setuid,
        Setgid = definition.Setgid,
        Console = definition.Console,
    };
}
