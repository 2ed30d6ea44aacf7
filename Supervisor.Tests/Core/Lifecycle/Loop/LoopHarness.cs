using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>A SupervisorLoop over fake processes and a fake clock: the state machine without the OS.</summary>
internal sealed class LoopHarness : IAsyncDisposable
{
    private LoopHarness(Action<SupervisorOptions>? configure = null)
    {
        // Inputs in arrival order, and the event queue to quiescence after each: SettleAsync (a list request) then means
        // settled. EventSliceTests turn both back on.
        var options = new SupervisorOptions { DaemonEnvironment = _ => null, EventPollSlice = Timeout.InfiniteTimeSpan, QueriesFirst = false };
        configure?.Invoke(options);
        Loop = new SupervisorLoop(Processes, null, Time, options, NullLogger<SupervisorLoop>.Instance);
        Loop.Notified += n =>
        {
            if (n is EventNotification e) lock (_events) _events.Add(e.ToString());
        };
    }

    private readonly List<string> _events = [];

    /// <summary>Every event emitted so far, as <c>NAME K=V …</c>, in order.</summary>
    public IReadOnlyList<string> Events
    {
        get { lock (_events) return _events.ToArray(); }
    }

    public FakeProcessControl Processes { get; } = new();
    public FakeTimeProvider Time { get; } = new();
    public SupervisorLoop Loop { get; }

    /// <summary>The loop's own task: it ends when the loop stops, and faults if the loop failed.</summary>
    public Task Running { get; private set; } = Task.CompletedTask;

    /// <summary>Loads jobs given as (name, job file text).</summary>
    public static Task<LoopHarness> CreateAsync(params (string Name, string Text)[] jobs) => CreateAsync(null, jobs);

    /// <summary>Loads jobs, with daemon-wide options changed by <paramref name="configure"/>.</summary>
    public static async Task<LoopHarness> CreateAsync(Action<SupervisorOptions>? configure, params (string Name, string Text)[] jobs)
    {
        var harness = new LoopHarness(configure);
        harness.Running = harness.Loop.StartAsync(CancellationToken.None);
        var definitions = jobs.Select(j =>
        {
            var result = JobParser.Parse(j.Name, $"/test/{j.Name}.conf", j.Text);
            return result.Job ?? throw new ArgumentException(result.Error!.ToString());
        }).ToArray();
        await harness.Loop.LoadAsync(definitions);
        return harness;
    }

    /// <summary>A bound on every wait, so a bug fails one test instead of hanging the run.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Returns once everything posted before has been handled (the loop reads in order).</summary>
    public Task SettleAsync() => Loop.ListAsync().WaitAsync(Bound);

    public async Task<string> StatusAsync(string job, params string[] environment) =>
        (await Loop.StatusAsync(job, environment)).StatusLine();

    public async Task ExitAsync(int pid, ExitStatus status)
    {
        Processes.Exit(pid, status);
        await SettleAsync();
    }

    public async Task ExitAsync(string job, string kind, ExitStatus status)
    {
        var pid = Processes.PidOf(job, kind);
        if (pid == 0) throw new InvalidOperationException($"no {job} {kind} process was spawned");
        await ExitAsync(pid, status);
    }

    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await SettleAsync();
    }

    public async ValueTask DisposeAsync() => await Loop.DisposeAsync();
}

internal static class BoundedWait
{
    /// <summary>Awaits a reply of the loop within <see cref="LoopHarness.Bound"/>.</summary>
    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(LoopHarness.Bound);

    public static Task Within(this Task task) => task.WaitAsync(LoopHarness.Bound);
}
