using System.CommandLine;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Commands;

/// <summary>The arguments several verbs share, and the requests they make from them.</summary>
internal static class Arguments
{
    // Optional: inside a job process, no job means the calling job ($UPSTART_JOB), as with initctl.
    public static Argument<string?> Job() => new("job")
    {
        Description = "Job name (its path in the job dir without .conf); inside a job, defaults to the calling job",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static Argument<string?> OptionalJob() =>
        new("job") { Description = "Only this job (default: every job)", Arity = ArgumentArity.ZeroOrOne };

    // The empty default given, not left to System.CommandLine: it would make the array type by reflection, which in a
    // NativeAOT supctl starts the run-time type loader on every call.
    public static Argument<string[]> Env(string description) =>
        new("KEY=VALUE") { Description = description, Arity = ArgumentArity.ZeroOrMore, DefaultValueFactory = static _ => [] };

    /// <summary>The status of one job: by instance name inside a job, else by the KEY=VALUE pairs given.</summary>
    public static StatusRequest StatusRequest(string job, string? instance, string[]? env)
    {
        var request = new StatusRequest { Job = job };
        if (instance is not null) request.Instance = instance;
        request.Env.AddRange(env ?? []);
        return request;
    }
}
