extern alias ctl;
extern alias daemon;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Supervisor.Tests.Support;

/// <summary>
/// A real supd on its own socket, job dir, log dir and state dir under a fresh temp directory, driven through the
/// real supctl (its binary in the native flavour, its code in-process in the JIT one: <see cref="CtlAsync"/>). Every
/// process it starts is owned and killed on disposal: every supd it started (not only the current one), and every job
/// process (found by a unique marker in the job environment, so even escaped children go).
/// </summary>
public sealed partial class SupdHarness : IAsyncDisposable
{
    /// <summary>
    /// Set by <c>.ci/run</c> to a fresh id for one run of the suite: every supd and job of every harness carries it in
    /// its environment, so whatever outlives the suite can be found in <c>/proc/*/environ</c> and named.
    /// </summary>
    public const string RunVariable = "SUPD_TEST_RUN";

    private static readonly string RunId = Environment.GetEnvironmentVariable(RunVariable) ?? "";

    private readonly StringBuilder _output = new();
    private readonly List<Process> _started = [];
    private Process? _supd;
    private RawClient? _probe;

    public SupdHarness()
    {
        // Short: a Unix socket path must fit in 108 bytes.
        Root = Path.Combine("/tmp", "supd-t-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Root);
        JobDir = Path.Combine(Root, "init");
        LogDir = Path.Combine(Root, "log");
        StateDir = Path.Combine(Root, "state");
        Socket = Path.Combine(Root, "supd.sock");
        Directory.CreateDirectory(JobDir);
        // The run's id rides along in the same variable: one line in a job file, so error line numbers stay put.
        Marker = "SUPD_TEST_MARKER=" + Path.GetFileName(Root) + (RunId.Length > 0 ? "." + RunId : "");
    }

    public string Root { get; }
    public string JobDir { get; }
    public string LogDir { get; }
    public string StateDir { get; }
    public string Socket { get; }

    /// <summary>An environment entry every job of this harness carries (through <see cref="WriteJob"/>).</summary>
    public string Marker { get; }

    /// <summary>A command supd runs under (<c>setpriv --reuid=65534 …</c>), or null to run it directly.</summary>
    public IReadOnlyList<string>? Wrapper { get; init; }

    /// <summary>The supd binary to start instead of the flavor's (a copy a test may replace, as an upgrade would).</summary>
    public string? SupdProgram { get; init; }

    /// <summary>
    /// supd's LogLevel (through SUPD_LOGLEVEL, so a --log-level flag or a test's own environment still wins). Debug by
    /// default: many tests read the state-by-state trace and the event lines, which supd logs at Debug. Null leaves
    /// supd's own default (Information) or supd.json's.
    /// </summary>
    public string? DaemonLogLevel { get; init; } = "Debug";

    /// <summary>
    /// supd's Containment (through SUPD_CONTAINMENT): process groups unless a test asks for <c>auto</c> (a cgroup per
    /// job instance where the machine allows). Each contained spawn goes through the exec helper, which a JIT build
    /// starts in ~85 ms on a busy 2-core machine (NativeAOT: ~2 ms): the suite's other tests, the 1000-job stress
    /// among them, would measure the helper instead of what they test. ContainmentTests cover the cgroup mode.
    /// </summary>
    public string? Containment { get; init; } = "process-groups";

    public int SupdPid => _supd?.Id ?? 0;
    public Process? SupdProcess => _supd;

    /// <summary>What supd wrote to stdout and stderr so far.</summary>
    public string DaemonOutput
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Writes <c>JOBDIR/NAME.conf</c>; the marker env line is added so cleanup finds every job process.</summary>
    public string WriteJob(string name, string text)
    {
        var path = Path.Combine(JobDir, name + ".conf");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written aside and renamed into place: a supd shared by tests that run at once may reload its job dir
        // (ReloadJobsAsync) while another test writes, and must never read half a file.
        var aside = Path.Combine(Root, ".job-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(aside, $"env {Marker}\n{text}");
        File.Move(aside, path, overwrite: true);
        return path;
    }

    /// <summary>Writes an executable shell script under the harness's root (a stand-in program for a job to run).</summary>
    public string WriteScript(string name, string body)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    public string LogPath(string job, string instance = "") => Path.Combine(LogDir, Supervisor.Core.Logs.JobLogDirectory.FileName(job, instance));

    public string ReadLog(string job) => File.Exists(LogPath(job)) ? File.ReadAllText(LogPath(job)) : "";

    /// <summary>Starts supd and waits until it answers on its socket.</summary>
    public async Task StartAsync(params string[] extraArgs)
    {
        _supd = StartSupd(extraArgs);
        await WaitForAnswerAsync();
    }

    /// <summary>
    /// Waits until this harness's supd (the one <see cref="StartAsync"/> or <see cref="StartSupdWith"/> started) answers
    /// on its socket, or fails naming its output if it exits first.
    /// </summary>
    public async Task WaitForAnswerAsync()
    {
        var supd = _supd ?? throw new InvalidOperationException("no supd started");
        try
        {
            // The socket file first (a cheap look): each supctl probe is a process start, and a JIT supd on a busy
            // machine takes seconds to bind, so probing before then only adds load.
            await Eventually.TrueAsync(() => supd.HasExited || File.Exists(Socket), "supd to bind its socket", TimeSpan.FromSeconds(60));
            // Generous: a JIT supd on a loaded 2-core CI machine (other builds, other daemons) can take seconds.
            // Asked in-process (Probe), not with supctl: this wait is the harness's, not a test's.
            await Eventually.GetAsync(
                async () => supd.HasExited || await AnswersAsync(),
                ready => ready,
                "supd to answer on its socket",
                TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nsupd's output so far:\n{DaemonOutput}", e);
        }
        if (supd.HasExited) throw new InvalidOperationException($"supd exited at start-up ({supd.ExitCode}):\n{DaemonOutput}");
    }

    /// <summary>Starts another supd process with this harness's paths (and the given extra arguments), not waiting.</summary>
    public Process StartSupd(params string[] extraArgs) =>
        StartSupdWith(new[] { "--job-dir", JobDir, "--socket", Socket, "--log-dir", LogDir, "--state-dir", StateDir }.Concat(extraArgs), null);

    /// <summary>Starts supd with exactly these arguments and extra environment variables; it becomes this harness's supd.</summary>
    public Process StartSupdWith(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(Wrapper is { Count: > 0 } ? Wrapper[0] : SupdProgram ?? Binaries.Supd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (Wrapper is { Count: > 0 })
        {
            foreach (var arg in Wrapper.Skip(1)) info.ArgumentList.Add(arg);
            info.ArgumentList.Add(Binaries.Supd);
        }
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // A variable of supd's own environment: it must never reach a job.
        info.Environment["SUPD_TEST_ONLY"] = "supd-private";
        if (DaemonLogLevel is not null) info.Environment["SUPD_LOGLEVEL"] = DaemonLogLevel;
        if (Containment is not null) info.Environment["SUPD_CONTAINMENT"] = Containment;
        // Marks supd as this harness's (for the sweep on disposal); SUPD_TEST_RUN, when set, is inherited.
        info.Environment["SUPD_TEST_HARNESS"] = Path.GetFileName(Root);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        // Owned from here: DisposeAsync kills every supd this harness started, including a test's second one.
        lock (_started) _started.Add(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (environment is not null) _supd = process;
        return process;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>
    /// <c>supctl --socket SOCKET ARGS</c>. In the native flavour, and with <c>SUPD_TEST_CTL=process</c>, the supctl
    /// binary runs; in the JIT flavour supctl's own code runs in this process (its command line, its gRPC call over the
    /// socket, its formatting), because a JIT supctl process costs ~0.3 s of CPU and the suite makes hundreds of
    /// calls. What only a process shows (argv[0] links, its environment, signals, pipes) is tested through
    /// <see cref="CtlProcessAsync"/>, and <c>.ci/run</c>'s native flavour runs every call as a process.
    /// </summary>
    public Task<CtlResult> CtlAsync(params string[] args) =>
        Binaries.Current.IsNative || CtlAlwaysProcess ? CtlProcessAsync(args) : RunCtlInProcessAsync(["--socket", Socket, .. args]);

    /// <summary><c>supctl --socket SOCKET ARGS</c> as a process of its own, in either flavour.</summary>
    public Task<CtlResult> CtlProcessAsync(params string[] args) => RunCtlAsync(Binaries.Supctl, ["--socket", Socket, .. args]);

    /// <summary><c>SUPD_TEST_CTL=process</c>: every supctl call of the JIT flavour is a process too.</summary>
    public static bool CtlAlwaysProcess { get; } = Environment.GetEnvironmentVariable("SUPD_TEST_CTL") == "process";

    private static async Task<CtlResult> RunCtlInProcessAsync(string[] args)
    {
        try
        {
            // On a thread of its own: supctl's calls block their thread (Transport/Http2Call), and the bound must hold.
            var (status, stdout, stderr) = await Task.Run(() => ctl::Supervisor.Ctl.Commands.CtlStreams.RunCapturedAsync(args))
                .WaitAsync(TimeSpan.FromSeconds(60));
            return new CtlResult(status, stdout, stderr);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"supctl {string.Join(' ', args)} (in-process) did not finish");
        }
    }

    public static async Task<CtlResult> RunCtlAsync(string program, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"supctl {string.Join(' ', args)} did not finish");
        }
        return new CtlResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The main pid in a status line (<c>ticker start/running, process 4825</c>), or 0.</summary>
    public static int PidOf(string statusLine)
    {
        var match = ProcessPid().Match(statusLine);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>
    /// The pid <c>supctl status JOB</c> names first (the main process while the job runs), or 0 when none or supd does
    /// not answer. Asked in-process (the Status call supctl makes, the pid its line shows): tests use it to find a
    /// process or to wait for a respawn's new one, and a supctl per probe cost ~0.4 s of CPU in the JIT build.
    /// </summary>
    public async Task<int> MainPidAsync(string job)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var status = (await Probe.Client.StatusAsync(new Supervisor.Protocol.StatusRequest { Job = job }, cancellationToken: cts.Token)).Status;
            // supctl's line names the processes in kind order (main, pre-start, post-start, …), the first one's pid.
            return status.Processes.OrderBy(p => (int)p.Kind).Select(p => p.Pid).FirstOrDefault();
        }
        catch (Grpc.Core.RpcException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Waits until <c>supctl status JOB</c> prints a line matching <paramref name="pattern"/>. supctl judges every
    /// time, but it is run again only once supd's answer has changed (an in-process Status call tells, in
    /// microseconds), or after a second without a change: polling with supctl itself cost ~0.4 s of CPU per probe
    /// in the JIT build, for the length of every wait.
    /// </summary>
    public async Task<CtlResult> WaitForStatusAsync(string job, string pattern, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Eventually.DefaultTimeout;
        var clock = Stopwatch.StartNew();
        CtlResult? last = null;
        string? seen = null;
        var asked = TimeSpan.Zero;
        while (true)
        {
            var now = await StatusKeyAsync(job);
            if (last is null || now != seen || clock.Elapsed - asked > TimeSpan.FromSeconds(1))
            {
                // The key is read before supctl runs, so a change while it runs is seen on the next pass.
                seen = now;
                asked = clock.Elapsed;
                last = await CtlAsync("status", job);
                if (Regex.IsMatch(last.Stdout, pattern)) return last;
            }
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Timed out after {limit.TotalSeconds}s waiting for status of {job} to match '{pattern}'; last value: {last}");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Waits until <c>supctl list</c> answers as <paramref name="done"/> wants. supctl judges, but it runs only once
    /// supd's own list (an in-process List call) looks <paramref name="ready"/>: a supctl per probe cost ~0.4 s of CPU
    /// in the JIT build, and a list of a thousand jobs settling takes many probes.
    /// </summary>
    public async Task<CtlResult> WaitForListAsync(Func<IReadOnlyList<Supervisor.Protocol.JobStatus>, bool> ready, Func<CtlResult, bool> done,
        string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Eventually.DefaultTimeout;
        var clock = Stopwatch.StartNew();
        CtlResult? last = null;
        var pause = TimeSpan.FromMilliseconds(25);
        while (clock.Elapsed <= limit)
        {
            if (await ListAsync() is { } jobs && ready(jobs))
            {
                last = await CtlAsync("list");
                if (done(last)) return last;
            }
            await Task.Delay(pause);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 3 / 2, TimeSpan.FromMilliseconds(250).Ticks));
        }
        last ??= await CtlAsync("list");
        if (done(last)) return last;
        throw new TimeoutException($"Timed out after {limit.TotalSeconds}s waiting for {what}; last list: {last}");
    }

    // supd's list as the harness sees it in-process, or null while it does not answer (a supd starting again).
    private async Task<IReadOnlyList<Supervisor.Protocol.JobStatus>?> ListAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return (await Probe.Client.ListAsync(new Supervisor.Protocol.ListRequest(), cancellationToken: cts.Token)).Jobs;
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }

    /// <summary>True for a job that <c>supctl list</c> shows as <c>start/running</c>.</summary>
    public static bool IsRunning(Supervisor.Protocol.JobStatus job) =>
        job.Goal == Supervisor.Protocol.Goal.Start && job.State == Supervisor.Protocol.State.Running;

    // The harness's own view of supd, for its waits only (what a test checks goes through supctl): one gRPC client
    // in the test process instead of a supctl process per probe.
    private RawClient Probe => _probe ??= new RawClient(Socket);

    private async Task<bool> AnswersAsync() => await ListAsync() is not null;

    // What supctl's status line is made of (not the clocks in the reply, which change on every call), or the error.
    private async Task<string> StatusKeyAsync(string job)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var status = (await Probe.Client.StatusAsync(new Supervisor.Protocol.StatusRequest { Job = job }, cancellationToken: cts.Token)).Status;
            return string.Join('|', status.Goal, status.State, status.Failure, status.StopReason, status.RespawnCount, status.ChangedOnDisk,
                status.Disabled, status.ExpectProblem, status.UnhealthyReason, string.Join(',', status.Processes.Select(p => $"{p.Kind}:{p.Pid}")));
        }
        catch (Grpc.Core.RpcException e)
        {
            return $"{e.StatusCode}: {e.Status.Detail}";
        }
    }

    /// <summary>
    /// Has a running supd read its job dir again (reload-configuration, asked in-process like the harness's waits), so
    /// the jobs a test wrote with <see cref="WriteJob"/> are loaded. For a fixture that shares one supd among its tests
    /// (each test with its own job and event names): a JIT supd costs ~0.8 s of CPU to start and ~1.3 s more to warm up
    /// its first requests, more than most tests cost themselves.
    /// </summary>
    public async Task ReloadJobsAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Probe.Client.ReloadConfigurationAsync(new Supervisor.Protocol.ReloadConfigurationRequest(), cancellationToken: cts.Token);
    }

    /// <summary>
    /// Starts JOB through an in-process Start call and returns once supd says it runs: set-up of a test on a shared supd
    /// (where a job cannot <c>start on startup</c>), not what it checks, which goes through supctl.
    /// </summary>
    public async Task StartJobAsync(string job)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Probe.Client.StartAsync(new Supervisor.Protocol.JobControlRequest { Job = job }, cancellationToken: cts.Token);
    }

    public Task WaitForLogAsync(string job, string text, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => ReadLog(job).Contains(text, StringComparison.Ordinal), $"'{text}' in {job}.log", timeout);

    /// <summary>Sends SIGTERM to supd and waits for it to exit; returns its exit status.</summary>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        if (_supd is null || _supd.HasExited) return _supd?.ExitCode ?? 0;
        Signal(_supd.Id, 15);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _supd.WaitForExitAsync(cts.Token);
        return _supd.ExitCode;
    }

    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"process (\d+)")]
    private static partial Regex ProcessPid();

    public async ValueTask DisposeAsync()
    {
        _probe?.Dispose();
        Process[] started;
        lock (_started) started = [.. _started];
        var marker = Path.GetFileName(Root);
        // Every supd this harness started, with its jobs (its children, marker or not): supd first, so it cannot
        // respawn what goes next.
        var doomed = new List<int>();
        foreach (var process in started)
        {
            var pid = PidOf(process);
            if (pid is not { } alive) continue;
            doomed.AddRange(ProcessTable.Descendants(alive));
            Signal(alive, 9);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await process.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
        }
        foreach (var process in started) process.Dispose();
        foreach (var pid in doomed) Signal(pid, 9);
        ReleaseFdHolder();
        // Anything else of ours (a job that escaped its group, a supd whose Process a test disposed): every process
        // carrying the marker, until none is left (one may fork while the last pass kills it).
        for (var pass = 0; pass < 50; pass++)
        {
            var left = ProcessTable.WithEnvironment(marker);
            if (left.Count == 0) break;
            foreach (var pid in left) Signal(pid, 9);
            await Task.Delay(20);
        }
        await RemoveCgroupTreeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// supd's fd holder outlives a SIGKILLed supd by design (it keeps the jobs' pipes for the next supd): told to let
    /// go, as a clean stop of supd would, and waited for (its socket closes as it exits).
    /// </summary>
    private void ReleaseFdHolder()
    {
        var path = daemon::Supervisor.Daemon.Hosting.SurvivalLifecycle.HolderSocket(Socket);
        if (!File.Exists(path)) return;
        try
        {
            using var holder = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Seqpacket, System.Net.Sockets.ProtocolType.Unspecified);
            holder.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            holder.Send(System.Text.Encoding.ASCII.GetBytes(Supervisor.Core.Survival.FdHolderProtocol.Release));
            holder.ReceiveTimeout = 10_000;
            var buffer = new byte[512];
            while (holder.Receive(buffer) > 0) { }
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Nobody listens (it exited already, or never started).
        }
    }

    /// <summary>
    /// The cgroup tree a supd on this harness's socket makes in cgroup mode (<c>MOUNT/supd-HASH</c>, see the daemon's
    /// <c>ContainmentServiceCollectionExtensions.GroupName</c>), or null where no cgroup v2 hierarchy is mounted.
    /// </summary>
    public string? CgroupTree
    {
        get
        {
            var mount = Supervisor.Core.Processes.Containment.CgroupDetection.FindCgroup2Mount(File.ReadAllText("/proc/self/mountinfo"));
            if (mount is null) return null;
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Socket)))[..12];
            return Path.Combine(mount, "supd-" + hash);
        }
    }

    // A SIGKILLed supd leaves its (by now empty) job cgroups: removed bottom-up, so the suite leaves no trees behind.
    private async Task RemoveCgroupTreeAsync()
    {
        if (CgroupTree is not { } tree || !Directory.Exists(tree)) return;
        // A killed process leaves its cgroup a moment after the signal: up to 5 s per group.
        foreach (var group in Directory.EnumerateDirectories(tree).Append(tree).ToList())
        {
            for (var attempt = 0; attempt < 250 && Directory.Exists(group); attempt++)
            {
                try { Directory.Delete(group); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { await Task.Delay(20); }
            }
        }
    }

    // The pid of a started process that still runs, or null (exited, or its Process object already disposed).
    private static int? PidOf(Process process)
    {
        try
        {
            return process.HasExited ? null : process.Id;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}

public sealed record CtlResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}; stdout: {Stdout.Trim()}; stderr: {Stderr.Trim()}";
}
