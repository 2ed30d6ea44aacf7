using System.CommandLine;

namespace Supervisor.Ctl.Verbs;

/// <summary><c>supctl enable JOB</c>: the whole job, then its status line.</summary>
internal static class EnableVerb
{
    public static Command Create() => JobControlVerb.WholeJob("enable", "Undo disable: the job's start on events start it again",
        (client, request, ct) => client.EnableAsync(request, cancellationToken: ct).ResponseAsync);
}
