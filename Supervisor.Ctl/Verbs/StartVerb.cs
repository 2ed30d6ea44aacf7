using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl start JOB [KEY=VALUE…]</c> (also the <c>start</c> link Upstart's scripts call).</summary>
internal static class StartVerb
{
    public static Command Create() => JobControlVerb.Create("start", "Start a job and wait until it runs (a task: until it has finished)",
        (client, request, ct) => client.StartAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true);
}
