using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl disable JOB</c>: the whole job, then its status line.</summary>
internal static class DisableVerb
{
    public static Command Create() => JobControlVerb.WholeJob("disable", "Take a job out of event-driven starts, across supd restarts: no event starts it, an explicit start still does (what runs keeps running)",
        (client, request, ct) => client.DisableAsync(request, cancellationToken: ct).ResponseAsync);
}
