namespace Supervisor.Daemon.Hosting;

/// <summary>A reason supd cannot start, printed as one line (<c>supd: …</c>) with exit status 1.</summary>
public sealed class StartupException(string message) : Exception(message);
