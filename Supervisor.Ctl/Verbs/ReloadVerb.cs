using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl reload JOB [KEY=VALUE…]</c> (also the <c>reload</c> link).</summary>
internal static class ReloadVerb
{
    public static Command Create() => JobControlVerb.Create("reload", "Run the job's check, if it has one; then send its reload signal (SIGHUP unless it sets one) to its main process",
        (client, request, ct) => client.ReloadAsync(request, cancellationToken: ct).ResponseAsync, printStatus: false, checks: true);
}
