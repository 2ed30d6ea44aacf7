using Microsoft.Extensions.Logging;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Core.Lifecycle;

/// <summary>
/// What the loop's collaborators share: the registry of jobs and instances, the goals set by hand, the services they
/// call (processes, logs, time) and the loop's own hooks (post an input, publish a notification, act once settled).
/// Everything here is read and written on the loop thread only; <see cref="Post"/> is the way in from anywhere else.
/// </summary>
internal sealed class LoopContext
{
    private readonly List<Action> _afterSettling = [];
    private long _nextSequence;

    public LoopContext(IProcessControl processes, JobLogDirectory? logs, TimeProvider time, SupervisorOptions options,
        ILogger log, Action<SupervisorInput> post)
    {
        Processes = processes;
        Logs = logs;
        Time = time;
        Options = options;
        Log = log;
        Post = post;
        Registry = new JobRegistry(logs);
        Status = new StatusProjection(logs, Goals, time);
    }

    public IProcessControl Processes { get; }
    public JobLogDirectory? Logs { get; }
    public TimeProvider Time { get; }
    public SupervisorOptions Options { get; }

    /// <summary>The loop's logger: every collaborator logs under the supervision loop's category.</summary>
    public ILogger Log { get; }

    public JobRegistry Registry { get; }
    public GoalRecord Goals { get; } = new();
    public StatusProjection Status { get; }

    /// <summary>Hands an input to the loop (from timers and other threads); throws once the loop takes no more.</summary>
    public Action<SupervisorInput> Post { get; }

    /// <summary>True once a shutdown was requested: events no longer start jobs and start requests are refused.</summary>
    public bool ShuttingDown { get; set; }

    /// <summary>Every event and state change, on the loop thread, in order (see <see cref="SupervisorLoop.Notified"/>).</summary>
    public Action<SupervisorNotification>? Notified { get; set; }

    public void Publish(Func<long, DateTimeOffset, SupervisorNotification> make)
    {
        Goals.Dirty = true; // a state change may have spawned or ended a process the state file lists
        if (Notified is not { } handlers) return;
        handlers(make(++_nextSequence, Time.GetUtcNow()));
    }

    /// <summary>What the instance's deadline posts when it is reached: its own generation, for the loop to check.</summary>
    public Action<long> DeadlineFor(JobInstance instance) => generation => Post(new DeadlineReachedInput(instance, generation));

    /// <summary>Runs <paramref name="action"/> once the current input and the events it caused have been handled.</summary>
    public void AfterSettling(Action action) => _afterSettling.Add(action);

    public void RunAfterSettling()
    {
        if (_afterSettling.Count == 0) return;
        var actions = _afterSettling.ToArray();
        _afterSettling.Clear();
        foreach (var action in actions) action();
    }
}
