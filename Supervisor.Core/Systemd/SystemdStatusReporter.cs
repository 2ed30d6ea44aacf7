using Microsoft.Extensions.Logging;
using Supervisor.Core.Lifecycle;

namespace Supervisor.Core.Systemd;

/// <summary>
/// Keeps systemd's STATUS= line (what <c>systemctl status supd</c> shows) current: <c>12 jobs, 11 running, 1
/// failed</c>. State changes only mark the line stale; at most one update per <see cref="Interval"/> asks the loop for
/// the jobs, so a crash-looping job cannot flood the notify socket. Does nothing when supd was not started by systemd.
/// </summary>
public sealed partial class SystemdStatusReporter(SupervisorLoop loop, SystemdNotifier notifier, TimeProvider time, ILogger<SystemdStatusReporter> log)
    : IDisposable
{
    private ITimer? _timer;
    private int _pending;
    private string? _last;

    /// <summary>The shortest time between two STATUS= messages.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Sends the current line now and follows state changes from here on.</summary>
    public async Task StartAsync()
    {
        if (!notifier.IsEnabled) return;
        _timer = time.CreateTimer(_ => _ = UpdateAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        loop.Notified += OnNotified;
        await UpdateAsync().ConfigureAwait(false);
    }

    /// <summary><c>3 jobs, 2 running, 1 failed</c>: one per <c>supctl list</c> line; failed = stopped by a failure.</summary>
    public static string Summary(IReadOnlyList<JobStatusSnapshot> jobs)
    {
        var running = jobs.Count(j => j.Goal == JobGoal.Start && j.State == JobState.Running);
        var failed = jobs.Count(j => j.Goal == JobGoal.Stop && j.State == JobState.Waiting && j.Failure is not null);
        return $"{jobs.Count} {(jobs.Count == 1 ? "job" : "jobs")}, {running} running, {failed} failed";
    }

    // On the loop thread: only arm the timer (a handler must not block the loop).
    private void OnNotified(SupervisorNotification notification)
    {
        if (notification is StateChangeNotification && Interlocked.Exchange(ref _pending, 1) == 0)
            _timer?.Change(Interval, Timeout.InfiniteTimeSpan);
    }

    private async Task UpdateAsync()
    {
        Interlocked.Exchange(ref _pending, 0);
        try
        {
            var line = Summary(await loop.ListAsync().ConfigureAwait(false));
            if (line == Interlocked.Exchange(ref _last, line)) return;
            notifier.Status(line);
        }
        catch (SupervisorException e)
        {
            LogStatusUnavailable(e.Message); // the loop is shutting down
        }
    }

    public void Dispose()
    {
        loop.Notified -= OnNotified;
        _timer?.Dispose();
    }

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "systemd status not updated: {Reason}")]
    private partial void LogStatusUnavailable(string reason);
}
