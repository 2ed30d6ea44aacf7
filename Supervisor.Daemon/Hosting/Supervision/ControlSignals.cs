using System.Runtime.InteropServices;
using Supervisor.Core;
using Supervisor.Core.Interop;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// SIGHUP (re-read the job dirs) and SIGUSR1 (reopen the job logs), caught from the first moment of start-up. Their
/// default action ends the process, so one sent while supd was still loading (a logrotate postrotate, an eager
/// <c>systemctl reload</c>) used to kill it; now it is remembered and acted on once supd is ready.
/// </summary>
public sealed class ControlSignals : IDisposable
{
    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration _hangup;
    private readonly PosixSignalRegistration _user1;
    private Action? _reload;
    private Action? _reopen;
    private bool _reloadPending;
    private bool _reopenPending;

    public ControlSignals()
    {
        // A signal ignored when supd was started (nohup, a non-interactive shell's background job) stays ignored, and
        // the runtime does not override SIG_IGN: SIGHUP would never reload. These two are supd's own control signals,
        // so they go back to their default first, and are caught at once below.
        Libc.Signal(Signals.SIGHUP, Libc.SIG_DFL);
        Libc.Signal(Signals.SIGUSR1, Libc.SIG_DFL);
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            Raise(ref _reloadPending, () => _reload);
        });
        _user1 = PosixSignalRegistration.Create((PosixSignal)Signals.SIGUSR1, context =>
        {
            context.Cancel = true;
            Raise(ref _reopenPending, () => _reopen);
        });
    }

    /// <summary>From now on the signals act at once; one that came earlier acts now (once, however many came).</summary>
    public void Ready(Action reload, Action reopen)
    {
        bool reloadNow, reopenNow;
        lock (_gate)
        {
            _reload = reload;
            _reopen = reopen;
            (reloadNow, reopenNow) = (_reloadPending, _reopenPending);
            _reloadPending = _reopenPending = false;
        }
        if (reopenNow) reopen();
        if (reloadNow) reload();
    }

    private void Raise(ref bool pending, Func<Action?> handler)
    {
        Action? act;
        lock (_gate)
        {
            act = handler();
            if (act is null) pending = true;
        }
        act?.Invoke();
    }

    public void Dispose()
    {
        _hangup.Dispose();
        _user1.Dispose();
    }
}

/// <summary>
/// Gives <see cref="ControlSignals"/> its actions once supd is up (Kestrel listening, the socket secured), before the
/// boot events: SIGUSR1 reopens every job log, for an external logrotate; SIGHUP re-reads the job dirs, as supctl
/// reload-configuration does. Either one that came during start-up acts now.
/// </summary>
public sealed partial class ControlSignalHandlers(
    ControlSignals signals, SupervisorRuntime runtime, Supervisor.Core.Logs.JobLogDirectory logs, ILogger<ControlSignalHandlers> log)
    : HostLifecycleStep
{
    public override Task StartedAsync(CancellationToken cancellationToken)
    {
        signals.Ready(
            reload: () => _ = runtime.ReloadConfigurationAsync("SIGHUP").ContinueWith(
                t => LogReloadFailed(t.Exception!.GetBaseException()),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default),
            reopen: () => LogReopened(logs.ReopenAll()));
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading the job files failed")]
    private partial void LogReloadFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reopened {Files} job log files (SIGUSR1)")]
    private partial void LogReopened(int files);
}
