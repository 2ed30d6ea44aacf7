using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl stop JOB [KEY=VALUE…]</c> (also the <c>stop</c> link Upstart's scripts call).</summary>
internal static class StopVerb
{
    public static Command Create() => JobControlVerb.Create("stop", "Stop a job and wait until it has stopped",
        (client, request, ct) => client.StopAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true);
}
