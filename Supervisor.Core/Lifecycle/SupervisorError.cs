namespace Supervisor.Core.Lifecycle;

/// <summary>The closed set of ways a request can be refused (mapped to gRPC status codes by the daemon).</summary>
public enum SupervisorError
{
    UnknownJob,
    UnknownInstance,
    AlreadyRunning,
    AlreadyStopped,
    NotRunning,
    JobFailedToStart,
    JobFailedWhileStopping,
    EventFailed,
    InvalidArgument,
    ShuttingDown,
    /// <summary>A restart's or reload's check failed (or was cut short): nothing was restarted or reloaded.</summary>
    CheckFailed,
    /// <summary>A restart or reload came while the job's check for another one was still running.</summary>
    CheckRunning,
    /// <summary>The caller holds the verb's right but asked for more than it gives (variables it may not set).</summary>
    PermissionDenied,
    /// <summary>The request is over one of <see cref="Limits"/> (too many or too long variables, a too long name).</summary>
    TooLarge,
}

/// <summary>A refused request; <see cref="Exception.Message"/> is what the user sees after "supctl: ".</summary>
public sealed class SupervisorException(SupervisorError error, string message, IReadOnlyList<string>? details = null)
    : Exception(message)
{
    public SupervisorError Error { get; } = error;

    /// <summary>Extra lines that explain a failure (which process, how it ended).</summary>
    public IReadOnlyList<string> Details { get; } = details ?? [];
}
