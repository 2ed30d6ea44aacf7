using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using Supervisor.Core.Processes;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Core.Processes;

/// <summary>Real spawns through posix_spawn, reaped through pidfds: what a job process gets and what we get back.</summary>
[TestFixture]
[NonParallelizable]
public sealed class NativeProcessControlTests
{
    private NativeProcessControl _processes = null!;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<ExitStatus>> _exits = new();

    [SetUp]
    public void SetUp()
    {
        // No subreaper or orphan sweep here: the test host also runs Process.Start children it must reap itself.
        _processes = new NativeProcessControl(NullLogger<NativeProcessControl>.Instance, childSubreaper: false);
        _processes.Start(exit => ExitOf(exit.Pid).TrySetResult(exit.Status), _ => { });
    }

    [TearDown]
    public void TearDown() => _processes.Dispose();

    private TaskCompletionSource<ExitStatus> ExitOf(int pid) =>
        _exits.GetOrAdd(pid, _ => new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously));

    private (int Pid, Capture Output) Spawn(string script, params string[] environment)
    {
        var output = new Capture();
        var result = _processes.Spawn(new SpawnRequest("test process", "/bin/sh", ["/bin/sh", "-c", script], environment, "/", output));
        Assert.That(result.Succeeded, Is.True, result.Error);
        return (result.Pid, output);
    }

    private async Task<ExitStatus> ExitAsync(int pid) => await ExitOf(pid).Task.WaitAsync(TimeSpan.FromSeconds(30));

    [Test]
    public async Task A_job_process_has_only_stdio_a_clean_signal_state_and_its_own_session()
    {
        // Inspect a plain program from outside, so no shell of ours adds descriptors to what we see.
        var result = _processes.Spawn(new SpawnRequest("sleeper", "/bin/sleep", ["/bin/sleep", "30"], [], "/", new Capture()));
        Assert.That(result.Succeeded, Is.True, result.Error);
        var pid = result.Pid;
        try
        {
            // Exec'd and asleep: sleep's own start-up (the locale archive) may hold an fd for a moment after the exec.
            await Eventually.TrueAsync(() => ProcessTable.Comm(pid) == "sleep" && ProcessTable.Stat(pid)?.State == 'S',
                "the exec of sleep, asleep");
            var fds = Directory.GetFiles($"/proc/{pid}/fd").Select(Path.GetFileName).Order().ToArray();
            Assert.That(fds, Is.EqualTo(new[] { "0", "1", "2" }));
            Assert.That(new FileInfo($"/proc/{pid}/fd/0").LinkTarget, Is.EqualTo("/dev/null"));
            Assert.That(new FileInfo($"/proc/{pid}/fd/1").LinkTarget, Does.StartWith("pipe:"));

            var status = File.ReadAllText($"/proc/{pid}/status");
            Assert.That(status, Does.Contain("SigBlk:\t0000000000000000\n"));
            // glibc's posix_spawn leaves its internal signals 32 and 33 ignored; nothing else may be (not SIGPIPE).
            Assert.That(status, Does.Match(@"SigIgn:\t0000000(0|1)8?0000000\n"));
            Assert.That(ProcessTable.Stat(pid)!.Value with { StartTime = 0 }, Is.EqualTo(new ProcessInfo('S', Environment.ProcessId, pid, pid)).Or.EqualTo(new ProcessInfo('R', Environment.ProcessId, pid, pid)));
        }
        finally
        {
            _processes.Signal(pid, 9);
            await ExitAsync(pid);
        }
    }

    [Test]
    public async Task Exit_statuses_and_signals_are_reported()
    {
        var (exits3, _) = Spawn("exit 3");
        var (killed, _) = Spawn("kill -TERM $$; sleep 5");

        Assert.That(await ExitAsync(exits3), Is.EqualTo(ExitStatus.Exited(3)));
        var status = await ExitAsync(killed);
        Assert.That(status, Is.EqualTo(ExitStatus.Killed(15)));
        Assert.That(status.ToString(), Is.EqualTo("killed by signal TERM"));
    }

    [Test]
    public async Task Output_written_by_a_child_after_the_process_exits_is_drained_to_the_end()
    {
        var (pid, output) = Spawn("echo first; (sleep 0.3; echo from-the-child) & exit 0");

        Assert.That(await ExitAsync(pid), Is.EqualTo(ExitStatus.Exited(0)));
        await Eventually.TrueAsync(() => output.Text.Contains("from-the-child\n"), "the child's late line");
        Assert.That(output.Text, Is.EqualTo("first\nfrom-the-child\n"));
    }

    [Test]
    public async Task Environment_is_exactly_what_was_given()
    {
        var (pid, output) = Spawn("env", "ONLY=this", "PATH=/usr/bin:/bin");

        await ExitAsync(pid);
        await _processes.DrainOutputAsync(TimeSpan.FromSeconds(10));
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("PWD=", StringComparison.Ordinal));
        Assert.That(lines, Is.EquivalentTo(new[] { "ONLY=this", "PATH=/usr/bin:/bin" }));
    }

    [Test]
    public async Task Signal_group_reaches_every_process_of_the_job()
    {
        var (pid, _) = Spawn("sleep 1000 & sleep 1000 & wait");
        await Eventually.TrueAsync(() => ProcessTable.InGroup(pid).Count == 3, "the shell and two sleeps");
        var members = ProcessTable.InGroup(pid);

        Assert.That(_processes.SignalGroup(pid, 15), Is.True);

        Assert.That(await ExitAsync(pid), Is.EqualTo(ExitStatus.Killed(15)));
        await Eventually.TrueAsync(() => members.All(m => !ProcessTable.IsAlive(m)), "every member to be gone");
    }

    [Test]
    public void A_missing_program_or_directory_is_a_spawn_error()
    {
        var missing = _processes.Spawn(new SpawnRequest("x", "/nonexistent/prog", ["/nonexistent/prog"], [], "/", null));
        var badDir = _processes.Spawn(new SpawnRequest("x", "/bin/true", ["/bin/true"], [], "/nonexistent-dir", null));

        Assert.That(missing.Error, Is.EqualTo("cannot run /nonexistent/prog: No such file or directory"));
        Assert.That(badDir.Error, Is.EqualTo("unable to change working directory: /nonexistent-dir: No such file or directory"));
    }

    private sealed class Capture : IOutputSink
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get { lock (_text) return _text.ToString(); }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            lock (_text) _text.Append(Encoding.UTF8.GetString(data));
        }
    }
}
