extern alias daemon;
using daemon::Supervisor.Daemon.Hosting;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Daemon;

/// <summary>SIGHUP and SIGUSR1 sent to this process: held while supd starts, acted on once ready, never fatal.</summary>
[TestFixture]
[NonParallelizable]
public class ControlSignalsTests
{
    // kill(2) of supd's own pid is refused by Libc.Kill (a guard against bad pids); here it is the point.
    private static void Raise(int signal) => Assert.That(kill(Environment.ProcessId, signal), Is.Zero);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [Test]
    public async Task Signals_before_ready_act_when_ready_and_later_ones_at_once()
    {
        using var signals = new ControlSignals();
        var reloads = 0;
        var reopens = 0;
        Raise(Signals.SIGHUP);
        Raise(Signals.SIGUSR1);
        signals.Ready(reload: () => Interlocked.Increment(ref reloads), reopen: () => Interlocked.Increment(ref reopens));
        await Eventually.TrueAsync(() => Volatile.Read(ref reloads) == 1 && Volatile.Read(ref reopens) == 1, "the early signals acted on");

        Raise(Signals.SIGHUP);
        await Eventually.TrueAsync(() => Volatile.Read(ref reloads) == 2, "a SIGHUP after ready reloads");
        Raise(Signals.SIGUSR1);
        await Eventually.TrueAsync(() => Volatile.Read(ref reopens) == 2, "a SIGUSR1 after ready reopens");
    }
}
