using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl restart JOB [KEY=VALUE…]</c> (also the <c>restart</c> link Upstart's scripts call).</summary>
internal static class RestartVerb
{
    public static Command Create() => JobControlVerb.Create("restart", "Run the job's check, if it has one; then stop and start it again with the variables given (none: none), and wait until it runs",
        (client, request, ct) => client.RestartAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true, checks: true);
}
