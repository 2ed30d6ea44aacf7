using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// supd as a container's PID 1, in a fresh PID namespace (<c>unshare --pid --fork --mount-proc</c>, as root): orphans
/// from the whole namespace come to it, and a runtime SIGCHLD handler (System.Console on a terminal, as with
/// <c>docker run -t</c>) would take the jobs' exit statuses. Each test runs both without and with a terminal
/// (<c>script</c> gives supd a pty).
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class Pid1Tests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task As_pid_1_supd_reports_true_exit_statuses_and_leaves_no_zombie(bool terminal)
    {
        await using var h = StartAsPid1(terminal);
        h.WriteJob("seven", "task\nexec sh -c 'sleep 0.2; exit 7'\n");
        h.WriteJob("killed", "task\nexec sh -c 'kill -9 $$'\n");
        // Twenty grandchildren orphaned at once (each subshell exits at once, leaving its sleep to init).
        h.WriteJob("forker", "task\nexec sh -c 'for i in $(seq 20); do (sleep 0.3 &); done; exit 0'\n");
        await h.StartAsync();
        var supd = SupdPidInHost(h);
        Assert.That(NamespacePid(supd), Is.EqualTo(1), "supd is PID 1 of its namespace");

        var seven = await h.CtlAsync("start", "seven");
        Assert.That(seven.Stderr, Does.Contain("main process exited with status 7"), seven.ToString());
        var killed = await h.CtlAsync("start", "killed");
        Assert.That(killed.Stderr, Does.Contain("main process killed by signal"), killed.ToString());
        Assert.That((await h.CtlAsync("start", "forker")).ExitCode, Is.Zero);

        await Eventually.TrueAsync(() => ProcessTable.WithEnvironment(h.Marker).Count == 0, "every job process and orphan to end");
        await Eventually.TrueAsync(() => Zombies(supd).Count == 0, "no zombie child of supd");
        Assert.That(h.DaemonOutput, Does.Not.Contain("was taken by someone else"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task As_pid_1_SIGTERM_stops_every_job_and_supd_exits_0(bool terminal)
    {
        await using var h = StartAsPid1(terminal);
        h.WriteJob("web", "start on startup\nexec sleep 1000\n");
        // A job that ignores SIGTERM: the kill timeout bounds it, then SIGKILL.
        h.WriteJob("stubborn", "start on startup\nkill timeout 1\nexec sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n");
        await h.StartAsync();
        await h.WaitForStatusAsync("web", "start/running");
        await h.WaitForStatusAsync("stubborn", "start/running");

        SupdHarness.Signal(SupdPidInHost(h), 15);

        Assert.That(await ExitCodeAsync(h), Is.Zero, h.DaemonOutput);
        Assert.That(ProcessTable.WithEnvironment(h.Marker), Is.Empty, "every job is gone");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_critical_job_that_fails_for_good_stops_everything_and_supd_exits_3(bool pid1)
    {
        await using var h = pid1 ? StartAsPid1(terminal: false) : new SupdHarness();
        h.WriteJob("web", "start on startup\nexec sleep 1000\n");
        h.WriteJob("db", "start on startup\ncritical\nrespawn\nrespawn limit 2 60\nexec sh -c 'sleep 0.3; exit 4'\n");
        // Not StartAsync: supd may well be gone before it could answer.
        h.StartSupdWith(["--job-dir", h.JobDir, "--socket", h.Socket, "--log-dir", h.LogDir, "--state-dir", h.StateDir], new Dictionary<string, string>());

        Assert.That(await ExitCodeAsync(h), Is.EqualTo(3), h.DaemonOutput);
        Assert.That(h.DaemonOutput, Does.Contain("Critical job db failed: respawning too fast"));
        Assert.That(ProcessTable.WithEnvironment(h.Marker), Is.Empty, "web was stopped too");
    }

    private static SupdHarness StartAsPid1(bool terminal)
    {
        if (Supervisor.Core.Configuration.DefaultPaths.CurrentUid != 0)
            Assert.Ignore("a PID namespace needs root (unshare --pid)");
        string[] unshare = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];
        if (!terminal) return new SupdHarness { Wrapper = unshare };
        // script runs one command line in a new pty and exits with its status (-e); the paths here have no spaces.
        return new SupdHarness { Wrapper = ["sh", "-c", $"exec script -qfec \"{string.Join(' ', unshare)} $*\" /dev/null", "pty-pid1"] };
    }

    /// <summary>supd's pid as seen from here (outside its namespace): the process running the binary on this harness's socket.</summary>
    private static int SupdPidInHost(SupdHarness h)
    {
        foreach (var pid in ProcessTable.AllPids())
        {
            string[] argv;
            try
            {
                argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (argv[0] == Binaries.Supd && argv.Contains(h.Socket)) return pid;
        }
        throw new InvalidOperationException("supd's process was not found");
    }

    // "NSpid:\t4711\t1": the pid in each namespace, outermost first.
    private static int NamespacePid(int pid) =>
        int.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("NSpid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1], System.Globalization.CultureInfo.InvariantCulture);

    private static List<int> Zombies(int parent) =>
        ProcessTable.AllPids().Where(pid => ProcessTable.Stat(pid) is { State: 'Z' } s && s.ParentPid == parent).ToList();

    private static async Task<int> ExitCodeAsync(SupdHarness h)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await h.SupdProcess!.WaitForExitAsync(cts.Token);
        return h.SupdProcess.ExitCode;
    }
}
