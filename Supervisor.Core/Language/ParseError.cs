namespace Supervisor.Core.Language;

/// <summary>
/// A rejected job file. <see cref="Message"/> starts with Upstart's own text (<c>Unknown stanza</c>,
/// <c>Unexpected token</c>, …) so people can search for it, followed by what exactly was wrong.
/// </summary>
/// <param name="Line">1-based line where the problem was detected; 0 when it is not about a line (e.g. an unreadable file).</param>
public sealed record ParseError(string Path, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"{Path}:{Line}: {Message}" : $"{Path}: {Message}";
}

/// <summary>Outcome of parsing one job: exactly one of <see cref="Job"/> and <see cref="Error"/> is non-null.</summary>
public sealed record JobParseResult(JobDefinition? Job, ParseError? Error)
{
    public bool Succeeded => Job is not null;
}

/// <summary>Everything found in the job directories: the valid jobs (sorted by name) and the files that were rejected.</summary>
public sealed record JobLoadResult(IReadOnlyList<JobDefinition> Jobs, IReadOnlyList<ParseError> Errors);
