using Microsoft.Extensions.Options;

namespace Supervisor.Daemon.Hosting;

/// <summary>A reason supd cannot start, printed as one line (<c>supd: …</c>) with exit status 1.</summary>
public sealed class StartupException(string message) : Exception(message)
{
    /// <summary>
    /// The line to print for a failed start, or null when <paramref name="e"/> is not one a user caused: a
    /// <see cref="StartupException"/>, an options validator's first failure (options are checked when the host starts or
    /// first reads them), or the first of those inside the host's <see cref="AggregateException"/>.
    /// </summary>
    public static string? Describe(Exception e) => e switch
    {
        StartupException startup => startup.Message,
        OptionsValidationException invalid => invalid.Failures.FirstOrDefault() ?? invalid.Message,
        AggregateException all => all.InnerExceptions.Select(Describe).FirstOrDefault(m => m is not null),
        _ => null,
    };
}
