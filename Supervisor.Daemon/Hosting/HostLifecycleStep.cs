namespace Supervisor.Daemon.Hosting;

/// <summary>
/// A part of supd's start or stop that runs at a fixed point of the host's lifecycle. Hosted services run each phase
/// in registration order (stopping: in reverse), and Kestrel is registered last: StartingAsync of all of them, then
/// StartAsync of each, Kestrel starts listening, then StartedAsync of each. A step overrides the phases it acts in.
/// </summary>
public abstract class HostLifecycleStep : IHostedLifecycleService
{
    public virtual Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public virtual Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public virtual Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public virtual Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public virtual Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public virtual Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
