using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Interop;
using Supervisor.Core.Language;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Containment;
using Supervisor.Core.Processes.Forking;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Processes;

/// <summary>
/// Job processes that need more than posix_spawn, every way: an exec helper of their own (supd --exec-helper) and the
/// fork server (supd --fork-server, waited for until ready), which clones as vfork does where it can and forks
/// otherwise (forced here with SUPD_FORK_SERVER_CLONE=fork in its environment), each with the same report.
/// </summary>
[TestFixtureSource(nameof(Ways))]
[NonParallelizable]
public sealed class ExecHelperTests(BinaryFlavor flavor, bool forkServer, bool forkClone) : IntegrationFixture(flavor)
{
    /// <summary>Every flavor (<see cref="BinaryFlavor.Selected"/>), once per way.</summary>
    public static IEnumerable<TestFixtureData> Ways()
    {
        foreach (var flavorData in BinaryFlavor.Selected())
            foreach (var (way, forkClone, name) in new[] { (false, false, "helper per spawn"), (true, false, "fork server"), (true, true, "fork server, fork clone") })
            {
                // A JIT server always forks: its "fork clone" way would be its "fork server" way again.
                if (forkClone && !((BinaryFlavor)flavorData.Arguments[0]!).IsNative) continue;
                var data = new TestFixtureData(flavorData.Arguments[0], way, forkClone)
                    .SetArgDisplayNames(flavorData.Arguments[0]!.ToString()!, name);
                foreach (var category in flavorData.Properties["Category"]) data.Properties.Add("Category", category!);
                yield return data;
            }
    }

    private NativeProcessControl _processes = null!;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<ExitStatus>> _exits = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<SpawnReport>> _reports = new();
    private readonly ConcurrentQueue<string> _notices = new();

    [SetUp]
    public async Task SetUp()
    {
        _exits.Clear();
        _reports.Clear();
        _notices.Clear();
        // The server takes the test host's environment (as supd's): whether it may clone as vfork.
        Environment.SetEnvironmentVariable(VforkTrampoline.DisableVariable, forkClone ? "fork" : null);
        // The test host is not supd: the helper is the built supd binary.
        _processes = Control([Binaries.Supd], forkServer: forkServer);
        if (forkServer) await Eventually.TrueAsync(_processes.ForkServerReady, "the fork server ready");
    }

    private NativeProcessControl Control(IReadOnlyList<string> helper, TimeSpan? timeout = null, bool forkServer = false,
        TimeSpan? retryDelay = null, IJobContainment? containment = null)
    {
        var control = new NativeProcessControl(NullLogger<NativeProcessControl>.Instance, childSubreaper: false, containment)
        {
            ExecHelperCommand = helper,
            ExecHelperTimeout = timeout ?? TimeSpan.FromSeconds(10),
            UseForkServer = forkServer,
            ForkServerRetryDelay = retryDelay ?? Limits.ForkServerRetryDelay,
        };
        control.Start(
            exit =>
            {
                _notices.Enqueue($"exit {exit.Pid}");
                ExitOf(exit.Pid).TrySetResult(exit.Status);
            },
            report =>
            {
                _notices.Enqueue($"report {report.Pid}");
                ReportOf(report.Pid).TrySetResult(report);
            });
        return control;
    }

    [TearDown]
    public void TearDown()
    {
        _processes.Dispose();
        Environment.SetEnvironmentVariable(VforkTrampoline.DisableVariable, null);
    }

    private TaskCompletionSource<ExitStatus> ExitOf(int pid) =>
        _exits.GetOrAdd(pid, _ => new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously));

    private TaskCompletionSource<SpawnReport> ReportOf(int pid) =>
        _reports.GetOrAdd(pid, _ => new TaskCompletionSource<SpawnReport>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<ExitStatus> ExitAsync(int pid) => await ExitOf(pid).Task.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Spawns, and when the spawn went through the helper, waits for its report: the outcome as one result.</summary>
    private Task<SpawnResult> Spawn(ProcessSettings settings, params string[] argv) => Spawn(_processes, settings, argv);

    private async Task<SpawnResult> Spawn(NativeProcessControl control, ProcessSettings settings, params string[] argv)
    {
        var before = control.ForkServerState.Spawns;
        var result = control.Spawn(new SpawnRequest("test process", argv[0], argv, ["PATH=/usr/bin:/bin"], "/", null, settings));
        if (result.ReportPending && control == _processes)
        {
            Assert.That(control.ForkServerState.Spawns - before, Is.EqualTo(forkServer ? 1 : 0), "the way this fixture tests");
            if (forkServer)
                Assert.That(control.ForkServerDescription, Does.Contain(forkClone ? "(fork clone)" : Flavor.ForkServerClone),
                    "the clone this fixture tests (vfork: NativeAOT on x86-64)");
        }
        if (!result.ReportPending) return result;
        var report = await ReportOf(result.Pid).Task.WaitAsync(TimeSpan.FromSeconds(30));
        return report.Succeeded ? SpawnResult.Started(result.Pid, report.NotApplied) : SpawnResult.Failed(report.Error!);
    }

    [Test]
    public async Task A_job_started_through_the_helper_keeps_its_pid_session_and_only_stdio_and_gets_its_settings()
    {
        var result = await Spawn(new ProcessSettings { Umask = 0x3F, Nice = 3 }, "/bin/sleep", "30");
        Assert.That(result.Succeeded, Is.True, result.Error);
        var pid = result.Pid;
        try
        {
            await ProcessTable.WaitForProgramAsync(pid, "sleep", "the exec of sleep");
            // execve sets the new name a moment before it closes close-on-exec fds (the helper's status pipe, fd 3):
            // wait for the set itself. A real leak never gets there and fails at the bound.
            await Eventually.TrueAsync(
                () => Directory.GetFiles($"/proc/{pid}/fd").Select(Path.GetFileName).Order().SequenceEqual(["0", "1", "2"]),
                "only fds 0, 1 and 2 in the job");
            Assert.That(File.ReadAllText($"/proc/{pid}/status"), Does.Contain("Umask:\t0077\n"));
            Assert.That(File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[16], Is.EqualTo("3"), "nice");
            var stat = ProcessTable.Stat(pid);
            Assert.That((stat?.ProcessGroup, stat?.Session), Is.EqualTo(((int?)pid, (int?)pid)));
            // The fork server clones with CLONE_PARENT: either way the job is the spawner's own child.
            Assert.That(stat?.ParentPid, Is.EqualTo(Environment.ProcessId), "the job's parent");
            Assert.That(File.ReadAllText($"/proc/{pid}/status"), Does.Match(@"SigBlk:\s*0+\n").And.Match(@"SigIgn:\s*0+\n"),
                "no signal blocked or ignored");
        }
        finally
        {
            _processes.Signal(pid, 9);
            await ExitAsync(pid);
        }
    }

    [Test]
    public async Task The_fork_server_keeps_its_own_directory_umask_nice_and_limits_whatever_its_children_set()
    {
        if (!forkServer) Assert.Ignore("the fork server's own test");
        var server = _processes.ForkServerState.Pid;
        Assert.That(server, Is.GreaterThan(0), "the fork server runs");
        var before = ServerState(server);

        // A vfork child runs on the server's memory: what it changes must be its own (no CLONE_FS, no CLONE_THREAD).
        var result = await Spawn(_processes, new ProcessSettings
        {
            Umask = 0x3F,
            Nice = 7,
            Limits = new Dictionary<string, ResourceLimit> { ["nofile"] = new(123, 456), ["stack"] = new(1 << 20, 1 << 20) },
        }, "/bin/sleep", "30");
        Assert.That(result.Succeeded, Is.True, result.Error);
        try
        {
            await ProcessTable.WaitForProgramAsync(result.Pid, "sleep", "the exec of sleep");
            Assert.That(File.ReadAllText($"/proc/{result.Pid}/limits"), Does.Match(@"Max open files\s+123\s+456"), "the job got its limits");
            Assert.That(_processes.ForkServerState.Pid, Is.EqualTo(server), "the same server");
            Assert.That(ServerState(server), Is.EqualTo(before), "the server's own directory, umask, nice, limits and signal state");
        }
        finally
        {
            _processes.Signal(result.Pid, Signals.SIGKILL);
            await ExitAsync(result.Pid);
        }
    }

    // What a child of the server could have changed in it, as /proc shows it.
    private static string ServerState(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status")
            .Where(line => line.StartsWith("Umask:", StringComparison.Ordinal) || line.StartsWith("SigBlk:", StringComparison.Ordinal)
                || line.StartsWith("SigIgn:", StringComparison.Ordinal) || line.StartsWith("SigCgt:", StringComparison.Ordinal)
                || line.StartsWith("Uid:", StringComparison.Ordinal) || line.StartsWith("Gid:", StringComparison.Ordinal)
                || line.StartsWith("Groups:", StringComparison.Ordinal));
        var nice = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[16];
        return string.Join("\n", [new FileInfo($"/proc/{pid}/cwd").LinkTarget, new FileInfo($"/proc/{pid}/root").LinkTarget,
            .. status, "nice " + nice, File.ReadAllText($"/proc/{pid}/limits"), File.ReadAllText($"/proc/{pid}/oom_score_adj")]);
    }

    [Test]
    public async Task A_spawn_whose_process_stalls_before_its_exec_returns_at_once_and_reports_when_it_goes_on()
    {
        // The unit's "cgroup" is a directory whose cgroup.procs is a FIFO: the child's join (its first step after
        // posix_spawn's part) blocks until this test reads it, as a chdir into a slow automount would.
        var group = Directory.CreateTempSubdirectory("fifo-group-").FullName;
        var fifo = Path.Join(group, "cgroup.procs");
        using (var mkfifo = Process.Start("mkfifo", [fifo])) await mkfifo.WaitForExitAsync();
        using var control = Control([Binaries.Supd], forkServer: forkServer, containment: new FifoGroup(group));
        var tracked = 0;
        try
        {
            if (forkServer) await Eventually.TrueAsync(control.ForkServerReady, "the fork server ready");
            var result = control.Spawn(new SpawnRequest("stalled process", "/bin/sleep", ["/bin/sleep", "30"], ["PATH=/usr/bin:/bin"], "/",
                null, ProcessSettings.Default, new ContainmentUnit("k", "stalled")));

            // Spawn came back with the pid while its process still waits in its join, not yet the job's program: a
            // vfork child sends its pid before that step, so neither supd nor its reaper lock waits for it.
            Assert.That(result.ReportPending, Is.True, result.Error);
            tracked = result.Pid;
            Assert.That(ReportOf(result.Pid).Task.IsCompleted, Is.False, "no report while the process waits");
            Assert.That(ProcessTable.Comm(result.Pid), Is.Not.EqualTo("sleep"), "not exec'd yet");
            if (forkServer) Assert.That(control.ForkServerState.Spawns, Is.EqualTo(1), "through the server");

            // Let it go on: it writes its "0", then runs the job.
            await using (var reader = new FileStream(fifo, FileMode.Open, FileAccess.Read))
            {
                var joined = new byte[8];
                Assert.That(Encoding.ASCII.GetString(joined, 0, await reader.ReadAsync(joined)), Is.EqualTo("0"), "what it wrote to join");
            }
            var report = await ReportOf(result.Pid).Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(report.Succeeded, Is.True, report.Error);
            await ProcessTable.WaitForProgramAsync(result.Pid, "sleep", "the exec of sleep");
        }
        finally
        {
            // Whether it got to the job or still waits in its join, it ends here (SIGKILL ends a wait on a FIFO).
            if (tracked > 0)
            {
                control.Signal(tracked, Signals.SIGKILL);
                await ExitAsync(tracked);
            }
            Directory.Delete(group, recursive: true);
        }
    }

    /// <summary>Puts every unit in one directory, whose cgroup.procs the test made: nothing else of a cgroup.</summary>
    private sealed class FifoGroup(string directory) : IJobContainment
    {
        public ContainmentMode Mode { get; } = ContainmentMode.ProcessGroups("a test's directory as the cgroup");
        public string? Prepare(ContainmentUnit unit) => directory;
        public void Signal(string key, int signal) { }
        public void End(string key, TimeSpan killTimeout) { }
        public Task EndAllAsync(TimeSpan wait) => Task.CompletedTask;
    }

    [Test]
    public async Task A_quick_job_through_the_helper_reports_its_exit()
    {
        var result = await Spawn(new ProcessSettings { Umask = 0x3F }, "/bin/sh", "-c", "exit 7");
        Assert.That(result.Succeeded, Is.True, result.Error);
        Assert.That(await ExitAsync(result.Pid), Is.EqualTo(ExitStatus.Exited(7)));
    }

    [Test]
    public async Task The_jobs_environment_is_its_own_without_the_variables_added_for_the_helpers_runtime()
    {
        // supd adds DOTNET_TieredPGO=0 (and DOTNET_ROOT when it has one) for a helper's runtime: never the job's.
        var result = await Spawn(new ProcessSettings { Umask = 0x3F }, "/bin/sh", "-c",
            """test "$(env | grep -c '^DOTNET_')" = 0 && test "$PATH" = /usr/bin:/bin""");
        Assert.That(result.Succeeded, Is.True, result.Error);
        Assert.That(await ExitAsync(result.Pid), Is.EqualTo(ExitStatus.Exited(0)));
    }

    [Test]
    public async Task A_failure_in_the_helper_is_a_spawn_failure_and_its_exit_is_never_reported()
    {
        var failed = await Spawn(new ProcessSettings { Limits = new Dictionary<string, ResourceLimit> { ["nofile"] = new(2_000_000_000, 2_000_000_000) } }, "/bin/true");
        var missing = await Spawn(new ProcessSettings { Umask = 0x3F }, "/nonexistent/program");

        Assert.That(failed.Error, Is.EqualTo("unable to set \"nofile\" resource limit: Operation not permitted"));
        Assert.That(missing.Error, Is.EqualTo("cannot run /nonexistent/program: No such file or directory"));
        var ok = await Spawn(new ProcessSettings { Umask = 0x3F }, "/bin/true");
        Assert.That(await ExitAsync(ok.Pid), Is.EqualTo(ExitStatus.Exited(0)));
        Assert.That(_exits.Keys, Is.EquivalentTo(new[] { ok.Pid }), "only the process that ran is reported");
    }

    [Test]
    public async Task A_spawn_through_the_helper_returns_at_once_and_its_report_comes_before_its_exit()
    {
        var result = _processes.Spawn(new SpawnRequest("test process", "/bin/sh", ["/bin/sh", "-c", "exit 3"], ["PATH=/usr/bin:/bin"], "/", null,
            new ProcessSettings { Umask = 0x3F }));
        Assert.That((result.Succeeded, result.ReportPending), Is.EqualTo((true, true)), "the pid now, the report later");
        var report = await ReportOf(result.Pid).Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(report.Succeeded, Is.True, report.Error);
        Assert.That(await ExitAsync(result.Pid), Is.EqualTo(ExitStatus.Exited(3)));
        Assert.That(_notices, Is.EqualTo(new[] { $"report {result.Pid}", $"exit {result.Pid}" }));
    }

    [Test]
    public async Task Many_helpers_run_at_once_and_each_reports_its_own_outcome()
    {
        // Twenty spawns in a row, every other one failing in its helper: each pid gets its own report.
        var spawned = Enumerable.Range(0, 20).Select(i => _processes.Spawn(new SpawnRequest(
            "test process", "/bin/sh", ["/bin/sh", "-c", $"exit {i}"], ["PATH=/usr/bin:/bin"], "/", null,
            i % 2 == 0 ? new ProcessSettings { Umask = 0x3F }
                : new ProcessSettings { Limits = new Dictionary<string, ResourceLimit> { ["nofile"] = new(2_000_000_000, 2_000_000_000) } })))
            .ToArray();
        Assert.That(spawned.All(s => s.ReportPending), Is.True);
        for (var i = 0; i < spawned.Length; i++)
        {
            var report = await ReportOf(spawned[i].Pid).Task.WaitAsync(TimeSpan.FromSeconds(60));
            if (i % 2 == 0)
            {
                Assert.That(report.Succeeded, Is.True, report.Error);
                Assert.That(await ExitAsync(spawned[i].Pid), Is.EqualTo(ExitStatus.Exited(i)));
            }
            else Assert.That(report.Error, Does.StartWith("unable to set \"nofile\" resource limit"));
        }
        var failedPids = spawned.Where((_, i) => i % 2 == 1).Select(s => s.Pid);
        Assert.That(_exits.Keys.Intersect(failedPids), Is.Empty, "a failed helper's exit is never reported");
    }

    [Test]
    public async Task Output_and_errors_reach_their_pipes_and_a_console_job_writes_where_its_spawner_does()
    {
        var both = new Capture();
        var split = (Out: new Capture(), Err: new Capture());
        var settings = new ProcessSettings { Umask = 0x3F };
        var script = new[] { "/bin/sh", "-c", "echo to-out; echo to-err >&2" };
        var shared = await Settled(_processes.Spawn(new SpawnRequest("shared", script[0], script, [], "/", both, settings)));
        var apart = await Settled(_processes.Spawn(new SpawnRequest("apart", script[0], script, [], "/", split.Out, settings, ErrorOutput: split.Err)));
        Assert.That(await ExitAsync(shared.Pid), Is.EqualTo(ExitStatus.Exited(0)));
        Assert.That(await ExitAsync(apart.Pid), Is.EqualTo(ExitStatus.Exited(0)));
        await _processes.DrainOutputAsync(TimeSpan.FromSeconds(30));
        Assert.That(both.Text, Is.EqualTo("to-out\nto-err\n"));
        Assert.That((split.Out.Text, split.Err.Text), Is.EqualTo(("to-out\n", "to-err\n")));

        // console output: no pipe, the spawner's own stdout and stderr.
        var console = await Settled(_processes.Spawn(new SpawnRequest("console", "/bin/sleep", ["/bin/sleep", "30"], [], "/", null,
            new ProcessSettings { Umask = 0x3F, Console = ConsoleMode.Output })));
        try
        {
            await ProcessTable.WaitForProgramAsync(console.Pid, "sleep", "the exec of sleep");
            foreach (var fd in new[] { 1, 2 })
                Assert.That(Link($"/proc/{console.Pid}/fd/{fd}"), Is.EqualTo(Link($"/proc/self/fd/{fd}")), $"fd {fd}");
            Assert.That(Link($"/proc/{console.Pid}/fd/0"), Is.EqualTo("/dev/null"));
        }
        finally
        {
            _processes.Signal(console.Pid, 9);
            await ExitAsync(console.Pid);
        }

        static string? Link(string path) => new FileInfo(path).LinkTarget;
    }

    private async Task<SpawnResult> Settled(SpawnResult result)
    {
        Assert.That(result.Succeeded, Is.True, result.Error);
        if (!result.ReportPending) return result;
        var report = await ReportOf(result.Pid).Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(report.Succeeded, Is.True, report.Error);
        return result;
    }

    /// <summary>
    /// For the fork server's own tests (in its fixture only): a control of their own, its server ready and, once it
    /// fails, replaced after 200 ms.
    /// </summary>
    private async Task<NativeProcessControl> ReadyForkServerOfItsOwnAsync()
    {
        if (!forkServer) Assert.Ignore("the fork server's own test");
        var control = Control([Binaries.Supd], forkServer: true, retryDelay: TimeSpan.FromMilliseconds(200));
        try
        {
            await Eventually.TrueAsync(control.ForkServerReady, "the fork server ready");
            return control;
        }
        catch
        {
            control.Dispose();
            throw;
        }
    }

    [Test]
    public async Task A_fork_server_that_dies_is_replaced_and_spawns_meanwhile_go_through_helpers_of_their_own()
    {
        using var control = await ReadyForkServerOfItsOwnAsync();
        var first = control.ForkServerState.Pid;
        Assert.That(Libc.Kill(first, 9), Is.Zero);
        // Reaped, so every thread of it is gone (a leader shows Z while its other threads, and its fds, still go).
        await Eventually.TrueAsync(() => ProcessTable.Stat(first) is null, "the server dead and reaped");

        var during = await Spawn(control, new ProcessSettings { Umask = 0x3F }, "/bin/sh", "-c", "exit 4");
        Assert.That(during.Succeeded, Is.True, during.Error);
        Assert.That(await ExitAsync(during.Pid), Is.EqualTo(ExitStatus.Exited(4)));
        Assert.That(control.ForkServerState.Failures, Is.EqualTo(1), "the dead server noticed");

        await Eventually.TrueAsync(control.ForkServerReady, "another fork server ready");
        var state = control.ForkServerState;
        Assert.That(state.Pid, Is.Not.EqualTo(first).And.Positive);
        var after = await Spawn(control, new ProcessSettings { Umask = 0x3F }, "/bin/sh", "-c", "exit 5");
        Assert.That(await ExitAsync(after.Pid), Is.EqualTo(ExitStatus.Exited(5)));
        Assert.That(control.ForkServerState.Spawns, Is.EqualTo(state.Spawns + 1), "the new server took it");
    }

    [Test]
    public async Task A_fork_server_that_stops_answering_fails_that_spawn_as_transient_and_is_replaced()
    {
        using var control = await ReadyForkServerOfItsOwnAsync();
        var first = control.ForkServerState.Pid;
        Assert.That(Libc.Kill(first, Signals.SIGSTOP), Is.Zero);

        // Sent, never answered: it may have cloned, so the spawn fails (as transient: a respawning job tries again).
        var result = control.Spawn(new SpawnRequest("stopped", "/bin/true", ["/bin/true"], [], "/", null, new ProcessSettings { Umask = 0x3F }));
        Assert.That((result.Error, result.Transient), Is.EqualTo(((string?)"the fork server failed: it did not answer within 2s", true)));
        Assert.That(control.ForkServerState.Failures, Is.EqualTo(1));
        await Eventually.TrueAsync(() => ProcessTable.Stat(first) is null, "the stopped server killed and reaped");

        var after = await Spawn(control, new ProcessSettings { Umask = 0x3F }, "/bin/sh", "-c", "exit 6");
        Assert.That(await ExitAsync(after.Pid), Is.EqualTo(ExitStatus.Exited(6)));
    }

    [Test]
    public async Task A_spawn_too_big_for_the_fork_server_goes_through_a_helper_of_its_own()
    {
        // Two variables: one string may not pass 128 KiB (MAX_ARG_STRLEN), so the helper could not take one so big.
        var half = Limits.MaxForkRequestBytes / 2 + 1;
        string[] environment = ["ONE=" + new string('x', half), "TWO=" + new string('y', half)];
        var before = _processes.ForkServerState.Spawns;
        var result = await Settled(_processes.Spawn(new SpawnRequest("big", "/bin/sh",
            ["/bin/sh", "-c", $"test $(( ${{#ONE}} + ${{#TWO}} )) -eq {2 * half}"], environment, "/", null, new ProcessSettings { Umask = 0x3F })));
        Assert.That(await ExitAsync(result.Pid), Is.EqualTo(ExitStatus.Exited(0)), "the whole variable");
        Assert.That(_processes.ForkServerState.Spawns, Is.EqualTo(before));
    }

    [Test]
    public async Task A_helper_that_never_reports_is_killed_and_its_spawn_fails_after_the_timeout()
    {
        // A "helper" that keeps the status pipe open and says nothing.
        using var control = Control(["/bin/sh", "-c", "exec sleep 60", "helper"], TimeSpan.FromSeconds(1));
        var result = control.Spawn(new SpawnRequest("test process", "/bin/true", ["/bin/true"], [], "/", null, new ProcessSettings { Nice = 1 }));
        Assert.That(result.ReportPending, Is.True);
        var report = await ReportOf(result.Pid).Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(report.Error, Is.EqualTo("the exec helper did not report within 1s"));
        await Eventually.TrueAsync(() => ProcessTable.Stat(result.Pid) is null || ProcessTable.Stat(result.Pid)?.State == 'Z',
            "the silent helper killed");
        Assert.That(_exits.ContainsKey(result.Pid), Is.False, "its exit is nobody's business");
    }

    [Test]
    public async Task A_refused_oom_score_is_a_hint_reported_as_not_applied()
    {
        var result = await Spawn(new ProcessSettings { OomScore = -1000 }, "/bin/sleep", "30");
        Assert.That(result.Succeeded, Is.True, result.Error);
        try
        {
            await ProcessTable.WaitForProgramAsync(result.Pid, "sleep", "the exec of sleep");
            var score = File.ReadAllText($"/proc/{result.Pid}/oom_score_adj").Trim();
            if (score == "-1000")
                Assert.That(result.NotApplied, Is.Empty);
            else
                Assert.That(result.NotApplied, Is.EqualTo(new[] { "oom score -1000: Permission denied" }));
        }
        finally
        {
            _processes.Signal(result.Pid, 9);
            await ExitAsync(result.Pid);
        }
    }

    [Test]
    public void Settings_posix_spawn_can_give_need_no_helper()
    {
        Assert.That(ExecHelper.IsNeeded(ProcessSettings.Default, Credentials.Unchanged, Defaults.Job.Umask), Is.False);
        Assert.That(ExecHelper.IsNeeded(new ProcessSettings { Console = ConsoleMode.Output }, Credentials.Unchanged, Defaults.Job.Umask), Is.False);
        Assert.That(ExecHelper.IsNeeded(ProcessSettings.Default, Credentials.Unchanged, 0x3F), Is.True, "supd's own umask differs");
        Assert.That(ExecHelper.IsNeeded(new ProcessSettings { Nice = 1 }, Credentials.Unchanged, Defaults.Job.Umask), Is.True);
    }

    /// <summary>
    /// Cost per spawn, spawn → exec of /bin/true → reaped, without the helper and through it, this fixture's way (the
    /// fork server or a helper per spawn; JIT build, the native one with SUPD_TEST_BIN_DIR). Prints medians.
    /// </summary>
    [Test]
    [Explicit("benchmark: run by hand")]
    public async Task Benchmark_spawn_with_and_without_the_helper()
    {
        foreach (var (name, settings) in new[] { ("posix_spawn only", ProcessSettings.Default), (forkServer ? "fork server" : "exec helper per spawn", new ProcessSettings { Nice = 1 }) })
        {
            var samples = new List<double>();
            for (var i = 0; i < 110; i++)
            {
                var clock = Stopwatch.StartNew();
                var result = await Spawn(settings, "/bin/true");
                Assert.That(result.Succeeded, Is.True, result.Error);
                await ExitAsync(result.Pid);
                if (i >= 10) samples.Add(clock.Elapsed.TotalMilliseconds);
            }
            samples.Sort();
            await TestContext.Out.WriteLineAsync(
                $"{name}: median {samples[samples.Count / 2]:0.000} ms, p10 {samples[samples.Count / 10]:0.000} ms, p90 {samples[samples.Count * 9 / 10]:0.000} ms (n={samples.Count})");
        }
    }

    private sealed class Capture : IOutputSink
    {
        private readonly System.Text.StringBuilder _text = new();

        public string Text
        {
            get { lock (_text) return _text.ToString(); }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            lock (_text) _text.Append(System.Text.Encoding.UTF8.GetString(data));
        }
    }
}
