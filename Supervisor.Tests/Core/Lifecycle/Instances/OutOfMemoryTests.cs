using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>
/// A main process the OOM killer ended in its cgroup is reported as out of memory, naming the limit: status, the last
/// exit, and the <c>exited</c> event's OOM=yes. The cgroup's counter is the fake's here (CgroupFilesTests read the file).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class OutOfMemoryTests
{
    [Test]
    public async Task A_main_process_killed_by_its_memory_limit_is_reported_as_out_of_memory()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "memory max 64M\nexec /usr/bin/hog\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");
        var tag = h.Processes.Spawns.Single().Request.Unit!.Value.Key;
        lock (h.Processes.OomKillCounts) h.Processes.OomKillCounts[tag] = 1;

        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGKILL));

        var status = await h.Loop.StatusAsync("svc", []);
        Assert.That(status.StatusLine(), Is.EqualTo("svc stop/waiting (failed: main process out of memory (memory max 64M))"));
        Assert.That(status.LastExit!.ToString(), Is.EqualTo("main process out of memory (memory max 64M)"));
        Assert.That(h.Events, Does.Contain($"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_SIGNAL=KILL OOM=yes RESPAWN=no"));
    }

    [Test]
    public async Task A_sigkill_without_an_oom_kill_in_the_cgroup_is_a_plain_signal()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "memory max 64M\nexec /usr/bin/hog\n"));
        await h.Loop.StartAsync("svc", []);
        var pid = h.Processes.PidOf("svc", "main");

        await h.ExitAsync(pid, ExitStatus.Killed(Signals.SIGKILL));

        Assert.That((await h.Loop.StatusAsync("svc", [])).StatusLine(), Is.EqualTo("svc stop/waiting (failed: main process killed by signal KILL)"));
        Assert.That(h.Events, Does.Contain($"exited JOB=svc INSTANCE= PROCESS=main PID={pid} EXIT_SIGNAL=KILL RESPAWN=no"));
    }
}
