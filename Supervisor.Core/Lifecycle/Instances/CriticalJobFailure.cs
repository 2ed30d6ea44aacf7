namespace Supervisor.Core.Lifecycle;

/// <summary>A job marked <c>critical</c> that failed for good, and why.</summary>
public sealed record CriticalJobFailure(string Job, string Instance, string Reason)
{
    public string DisplayName => StatusLineFormat.DisplayName(Job, Instance);
}
