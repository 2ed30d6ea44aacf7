using System.Text;
using Supervisor.Core.Events;

namespace Supervisor.Core.Language;

/// <summary>One unreachable condition found by <see cref="ConfigReport.CheckConfig"/>.</summary>
/// <param name="Job">The job whose condition it is.</param>
/// <param name="Condition"><c>start on</c> or <c>stop on</c>.</param>
/// <param name="Message"><c>unknown event X</c> or <c>unknown job Y</c>.</param>
public sealed record ConfigProblem(string Job, string Condition, string Message);

/// <summary>
/// initctl's <c>show-config [-e]</c> and <c>check-config [-i EVENTS] [-w]</c> (spec §10), as pure functions of the
/// loaded job definitions. Jobs are listed by name (Upstart listed them in hash order).
/// </summary>
public static class ConfigReport
{
    public const string StartOn = "start on";
    public const string StopOn = "stop on";

    /// <summary>
    /// show-config: per job its name, then <c>  emits X</c> lines, <c>  start on EXPR</c> and <c>  stop on EXPR</c>
    /// with EXPR fully parenthesised. With <paramref name="enumerate"/> (<c>-e</c>) every operand gets its own line,
    /// <c>  start on started (job: a, env: X=1)</c>, the job of a job event split out of its arguments as initctl does.
    /// </summary>
    /// <param name="job">Only this job (it must be in <paramref name="jobs"/>); null for all.</param>
    public static string ShowConfig(IEnumerable<JobDefinition> jobs, string? job = null, bool enumerate = false)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var output = new StringBuilder();
        foreach (var definition in Select(jobs, job))
        {
            output.Append(definition.Name).Append('\n');
            foreach (var emitted in definition.Emits) output.Append("  emits ").Append(emitted).Append('\n');
            Condition(output, StartOn, definition.StartOn, enumerate);
            Condition(output, StopOn, definition.StopOn, enumerate);
        }
        return output.ToString();
    }

    private static void Condition(StringBuilder output, string stanza, EventExpression? expression, bool enumerate)
    {
        if (expression is null) return;
        if (!enumerate)
        {
            output.Append("  ").Append(stanza).Append(' ').Append(expression).Append('\n');
            return;
        }
        foreach (var operand in Operands(expression))
        {
            var (jobName, jobArgument) = JobOf(operand);
            output.Append("  ").Append(stanza).Append(' ').Append(operand.Name)
                .Append(" (job:").Append(jobName is null ? "" : " " + jobName).Append(", env:");
            for (var i = 0; i < operand.Arguments.Count; i++)
            {
                if (i != jobArgument) output.Append(' ').Append(operand.Arguments[i]);
            }
            output.Append(")\n");
        }
    }

    /// <summary>
    /// check-config: the <c>start on</c>/<c>stop on</c> operands that nothing can satisfy, per job in name order.
    /// An event is available when it is built in (<see cref="EventIds.BuiltIn"/>), matches a job's <c>emits</c> glob, or is
    /// ignored (<c>-i</c>); <c>EVENT/failed</c> is available when EVENT is (supd emits it when a job holding EVENT
    /// fails). The job named by a job event (<c>started foo</c>, <c>stopped JOB=foo</c>) must exist, unless it is a
    /// <c>$VARIABLE</c>. As in initctl, an <c>or</c> is satisfied by either side (with <paramref name="warn"/>, <c>-w</c>,
    /// it needs both), and each condition reports the problems of its first unsatisfiable sub-expression (the whole
    /// expression when the root is unsatisfiable), operands left to right.
    /// </summary>
    /// <param name="job">Only this job's conditions (it must be in <paramref name="jobs"/>); null for all.</param>
    public static IReadOnlyList<ConfigProblem> CheckConfig(
        IReadOnlyCollection<JobDefinition> jobs, string? job = null, IEnumerable<string>? ignoredEvents = null, bool warn = false)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var context = new CheckContext(
            jobs.SelectMany(j => j.Emits).Distinct(StringComparer.Ordinal).ToList(),
            jobs.Select(j => j.Name).ToHashSet(StringComparer.Ordinal),
            (ignoredEvents ?? []).ToHashSet(StringComparer.Ordinal),
            warn);
        var problems = new List<ConfigProblem>();
        foreach (var definition in Select(jobs, job))
        {
            Check(context, definition.Name, StartOn, definition.StartOn, problems);
            Check(context, definition.Name, StopOn, definition.StopOn, problems);
        }
        return problems;
    }

    /// <summary>check-config's text: each job with problems on a line, then <c>  start on: unknown event X</c> lines.</summary>
    public static string FormatProblems(IEnumerable<ConfigProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var output = new StringBuilder();
        string? current = null;
        foreach (var problem in problems)
        {
            if (problem.Job != current) output.Append(problem.Job).Append('\n');
            current = problem.Job;
            output.Append("  ").Append(problem.Condition).Append(": ").Append(problem.Message).Append('\n');
        }
        return output.ToString();
    }

    private sealed record CheckContext(IReadOnlyList<string> Emits, HashSet<string> Jobs, HashSet<string> Ignored, bool Warn)
    {
        public bool IsAvailable(string eventName) =>
            IsDirectlyAvailable(eventName)
            || EventIds.IsFailed(eventName) && IsDirectlyAvailable(eventName[..^EventIds.FailedSuffix.Length]);

        private bool IsDirectlyAvailable(string eventName) =>
            EventIds.BuiltIn.Contains(eventName) || Ignored.Contains(eventName) || Emits.Any(pattern => Glob.Match(pattern, eventName));

        public bool JobExists(string job) => Jobs.Contains(job) || job.StartsWith('$');
    }

    private static void Check(CheckContext context, string job, string condition, EventExpression? expression, List<ConfigProblem> problems)
    {
        if (expression is null) return;
        var failing = FirstUnsatisfiable(context, expression, isRoot: true);
        if (failing is null) return;
        foreach (var operand in Operands(failing))
        {
            if (!context.IsAvailable(operand.Name))
                problems.Add(new ConfigProblem(job, condition, "unknown event " + operand.Name));
            if (JobOf(operand).Name is { } jobName && !context.JobExists(jobName))
                problems.Add(new ConfigProblem(job, condition, "unknown job " + jobName));
        }
    }

    // initctl walks the root and then the operator nodes in pre-order and reports the first one that is unsatisfiable.
    private static EventExpression? FirstUnsatisfiable(CheckContext context, EventExpression expression, bool isRoot)
    {
        var isOperator = expression is EventAnd or EventOr;
        if ((isRoot || isOperator) && !IsSatisfiable(context, expression)) return expression;
        return expression switch
        {
            EventAnd and => FirstUnsatisfiable(context, and.Left, false) ?? FirstUnsatisfiable(context, and.Right, false),
            EventOr or => FirstUnsatisfiable(context, or.Left, false) ?? FirstUnsatisfiable(context, or.Right, false),
            _ => null,
        };
    }

    private static bool IsSatisfiable(CheckContext context, EventExpression expression) => expression switch
    {
        EventAnd and => IsSatisfiable(context, and.Left) & IsSatisfiable(context, and.Right),
        EventOr both when context.Warn => IsSatisfiable(context, both.Left) & IsSatisfiable(context, both.Right),
        EventOr or => IsSatisfiable(context, or.Left) | IsSatisfiable(context, or.Right),
        EventMatch match => context.IsAvailable(match.Name) && (JobOf(match).Name is not { } jobName || context.JobExists(jobName)),
        _ => throw new ArgumentException($"Unknown expression node {expression.GetType().Name}", nameof(expression)),
    };

    private static IEnumerable<EventMatch> Operands(EventExpression expression) => expression switch
    {
        EventAnd and => Operands(and.Left).Concat(Operands(and.Right)),
        EventOr or => Operands(or.Left).Concat(Operands(or.Right)),
        EventMatch match => [match],
        _ => throw new ArgumentException($"Unknown expression node {expression.GetType().Name}", nameof(expression)),
    };

    /// <summary>
    /// The job a job event (<c>starting</c>, <c>started</c>, <c>stopping</c>, <c>stopped</c>) names, as initctl finds
    /// it: the first argument written <c>JOB=NAME</c>, or a first positional argument without '='. Index -1 when none.
    /// </summary>
    private static (string? Name, int Index) JobOf(EventMatch match)
    {
        if (!EventIds.JobEvents.Contains(match.Name)) return (null, -1);
        for (var i = 0; i < match.Arguments.Count; i++)
        {
            var text = match.Arguments[i].ToString();
            if (text.StartsWith(EventIds.Variables.Job + "=", StringComparison.Ordinal)) return (text[(EventIds.Variables.Job.Length + 1)..], i);
            if (i == 0 && !text.Contains('=', StringComparison.Ordinal)) return (text, 0);
        }
        return (null, -1);
    }

    private static IEnumerable<JobDefinition> Select(IEnumerable<JobDefinition> jobs, string? job) =>
        jobs.Where(j => job is null || j.Name == job).OrderBy(j => j.Name, StringComparer.Ordinal);
}
