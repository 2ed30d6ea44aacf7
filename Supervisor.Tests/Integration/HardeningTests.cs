using System.Diagnostics;
using Grpc.Core;
using NUnit.Framework;
using Supervisor.Protocol;
using Supervisor.Tests.Stress;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 16's inputs and privilege findings, each reproduced through the real supd and supctl: what once gave root
/// away, crashed or froze supd is now refused with a message naming the rule or limit, and supd keeps serving.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Category("Hardening")]
[Parallelizable(ParallelScope.All)]
public sealed class HardeningTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    // The tests about jobs of their own (named apart, started by the test) share one supd: a JIT supd's start and
    // warm-up cost more CPU than such a test. Those with rules, limits at load or a state file keep their own.
    private SupdHarness _shared = null!;

    [OneTimeSetUp]
    public async Task StartSharedAsync() => _shared = await StartSharedSupdAsync();

    [OneTimeTearDown]
    public async Task StopSharedSupdAsync() => await _shared.DisposeAsync();

    /// <summary>A real account (made once with useradd, kept: the name is fixed, so reruns reuse it).</summary>
    private const string Alice = "supd-h16-alice";

    private static readonly Lock UserGate = new();

    private static (uint Uid, uint Gid) EnsureAlice()
    {
        if (Environment.UserName != "root") Assert.Ignore("needs root: to run supctl as another user");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Ignore("setpriv is not installed");
        lock (UserGate)
        {
            if (Id("-u") is null)
            {
                if (!File.Exists("/usr/sbin/useradd")) Assert.Ignore("useradd is not installed");
                using var add = Process.Start("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Alice])!;
                add.WaitForExit();
            }
            return (uint.Parse(Id("-u")!, System.Globalization.CultureInfo.InvariantCulture),
                uint.Parse(Id("-g")!, System.Globalization.CultureInfo.InvariantCulture));
        }

        static string? Id(string flag)
        {
            using var id = Process.Start(new ProcessStartInfo("id", [flag, Alice]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = id.StandardOutput.ReadToEnd().Trim();
            id.WaitForExit();
            return id.ExitCode == 0 ? output : null;
        }
    }

    private static async Task StartWithRulesAsync(SupdHarness supd)
    {
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED); // 0755: alice must reach the socket
        var config = Path.Combine(supd.Root, "supd.json");
        File.WriteAllText(config, $$"""
            { "SocketMode": "0666",
              "Access": { "Rules": [
                { "User": "{{Alice}}", "Jobs": ["team-a/*"], "Rights": ["read", "control"] },
                { "User": "{{Alice}}", "Rights": ["control"] } ] } }
            """);
        await supd.StartAsync("--config", config);
    }

    private static Task<CtlResult> AsAlice(SupdHarness supd, (uint Uid, uint Gid) alice, params string[] args) =>
        SupdHarness.RunCtlAsync("/usr/bin/setpriv",
            [$"--reuid={alice.Uid}", $"--regid={alice.Gid}", "--clear-groups", Binaries.Supctl, "--socket", supd.Socket, .. args]);

    [Test]
    public async Task A_control_right_cannot_run_the_callers_program_as_root_through_PATH_or_the_loader()
    {
        var alice = EnsureAlice();
        await using var supd = new SupdHarness();
        // Alice's own "sleep", which would record who ran it.
        var home = Path.Combine(supd.Root, "alice");
        var bin = Path.Combine(home, "bin");
        Directory.CreateDirectory(bin);
        var proof = Path.Combine(home, "ran-as");
        File.WriteAllText(Path.Combine(bin, "sleep"), $"#!/bin/sh\nid -u > {proof}\nexec /bin/sleep \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(bin, "sleep"), (UnixFileMode)0x1ED);
        foreach (var dir in new[] { home, bin }) File.SetUnixFileMode(dir, (UnixFileMode)0x1FF);
        supd.WriteJob("team-a/web", "start on startup\nexec sleep 1010\n");
        supd.WriteJob("team-a/greet", "task\nscript\n  echo \"GREETING=$GREETING PATH=$PATH\"\nend script\n");
        await StartWithRulesAsync(supd);
        var running = await supd.WaitForStatusAsync("team-a/web", "start/running");
        var pid = SupdHarness.PidOf(running.Stdout);

        var path = await AsAlice(supd, alice, "restart", "team-a/web", $"PATH={bin}:/usr/bin:/bin");
        var preload = await AsAlice(supd, alice, "start", "team-a/greet", "LD_PRELOAD=/tmp/evil.so");
        var undeclared = await AsAlice(supd, alice, "start", "team-a/greet", "PYTHONSTARTUP=/tmp/x", "FOO=1");
        var stop = await AsAlice(supd, alice, "stop", "team-a/web", "BASH_ENV=/tmp/x");

        Assert.Multiple(() =>
        {
            Assert.That(path.ExitCode, Is.EqualTo(77), path.ToString());
            Assert.That(path.Stderr, Is.EqualTo(
                $"supctl: permission denied: {Alice} may not set variable PATH: PATH is a loader, shell or supd variable (only admin may set it)\n"));
            Assert.That(preload.Stderr, Does.Contain("may not set variable LD_PRELOAD"), preload.ToString());
            Assert.That(undeclared.Stderr, Does.Contain("may not set variable PYTHONSTARTUP"), undeclared.ToString());
            Assert.That(stop.Stderr, Does.Contain("may not set variable BASH_ENV"), stop.ToString());
            Assert.That(File.Exists(proof), Is.False, "alice's program ran");
        });
        // Nothing happened to the job: same process.
        Assert.That(SupdHarness.PidOf((await supd.CtlAsync("status", "team-a/web")).Stdout), Is.EqualTo(pid));

        // What the job declares ($GREETING in its script) alice may pass; anything else is named and refused.
        var declared = await AsAlice(supd, alice, "start", "team-a/greet", "GREETING=hello");
        var other = await AsAlice(supd, alice, "start", "team-a/greet", "OTHER=1");
        Assert.That(declared.ExitCode, Is.Zero, declared.ToString());
        Assert.That(other.Stderr, Is.EqualTo(
            $"supctl: permission denied: {Alice} may not set variable OTHER: team-a/greet does not declare OTHER (a job declares a variable in its instance stanza or as $OTHER in its processes)\n"));
        await supd.WaitForLogAsync("team-a/greet", "GREETING=hello PATH=");
        Assert.That(supd.ReadLog("team-a/greet"), Does.Not.Contain(bin));
        // Root (admin) keeps Upstart's behaviour: any variable.
        var root = await supd.CtlAsync("start", "team-a/greet", "GREETING=root", "PATH=/usr/bin:/bin");
        Assert.That(root.ExitCode, Is.Zero, root.ToString());
        await supd.WaitForLogAsync("team-a/greet", "GREETING=root PATH=");
        Assert.That(supd.ReadLog("team-a/greet"), Does.Contain("/usr/bin:/bin\n"));
    }

    [Test]
    public async Task An_emit_without_admin_cannot_set_PATH_or_LD_PRELOAD_for_the_jobs_it_starts_and_passes_only_declared_variables()
    {
        var alice = EnsureAlice();
        await using var supd = new SupdHarness();
        supd.WriteJob("on-foo", "start on foo\ntask\nscript\n  echo \"GREETING=$GREETING EXTRA=${EXTRA:-unset} PATH=$PATH\"\nend script\n");
        supd.WriteJob("team-a/web", "start on startup\nexec sleep 1010\n");
        await StartWithRulesAsync(supd);
        await supd.WaitForStatusAsync("team-a/web", "start/running");

        var path = await AsAlice(supd, alice, "emit", "foo", "PATH=/tmp/evil:/bin");
        var preload = await AsAlice(supd, alice, "emit", "foo", "LD_PRELOAD=/tmp/evil.so");
        Assert.Multiple(() =>
        {
            Assert.That(path.Stderr, Is.EqualTo(
                $"supctl: permission denied: {Alice} may not emit variable PATH: a loader, shell or supd variable (only admin may set it)\n"));
            Assert.That(preload.Stderr, Does.Contain("may not emit variable LD_PRELOAD"), preload.ToString());
        });
        Assert.That(supd.ReadLog("on-foo"), Is.Empty, "a refused event started the job");

        // Variables the job declares pass; one it does not (UNDECLARED) is dropped for it and the drop is logged.
        var allowed = await AsAlice(supd, alice, "emit", "foo", "GREETING=hi", "UNDECLARED=x");
        Assert.That(allowed.ExitCode, Is.Zero, allowed.ToString());
        await supd.WaitForLogAsync("on-foo", "GREETING=hi EXTRA=unset PATH=");
        Assert.That(supd.ReadLog("on-foo"), Does.Not.Contain("/tmp/evil"));
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("on-foo: dropped 1 variable(s)", StringComparison.Ordinal), "the drop logged");
        Assert.That(supd.ReadLog("on-foo"), Does.Not.Contain("UNDECLARED"));
    }

    [Test]
    public async Task A_huge_sparse_env_file_fails_that_start_naming_the_path_and_the_limit_and_supd_keeps_running()
    {
        var supd = _shared;
        var envFile = Path.Combine(supd.Root, "sparse-app.env");
        using (var sparse = new FileStream(envFile, FileMode.Create)) sparse.SetLength(1536L * 1024 * 1024);
        supd.WriteJob("sparse-app", $"env-file {envFile}\nexec sleep 1010\n");
        supd.WriteJob("sparse-steady", "exec sleep 1010\n");
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("sparse-steady");
        await supd.WaitForStatusAsync("sparse-steady", "start/running");

        var start = await supd.CtlAsync("start", "sparse-app");

        Assert.That(start.ExitCode, Is.EqualTo(1), start.ToString());
        Assert.That(start.Stderr, Does.Contain($"unable to read env-file: {envFile}: too large (1.5 GiB > 1 MiB)"), start.ToString());
        Assert.That((await supd.CtlAsync("status", "sparse-steady")).Stdout, Does.Contain("start/running"));
        Assert.That(supd.SupdProcess!.HasExited, Is.False);
    }

    [Test]
    public async Task A_setuid_jobs_env_file_is_read_only_if_its_user_could_read_it_so_a_planted_link_to_a_root_file_leaks_nothing()
    {
        var alice = EnsureAlice();
        var supd = _shared;
        File.SetUnixFileMode(supd.Root, (UnixFileMode)0x1ED); // 0755: alice must reach her own files below it
        var secret = Path.Combine(supd.Root, "setuid-root-only.env");
        File.WriteAllText(secret, "SECRET=topsecret\n");
        File.SetUnixFileMode(secret, (UnixFileMode)0x180); // 0600, root's
        var home = Path.Combine(supd.Root, "setuid-alice-home");
        Directory.CreateDirectory(home);
        var link = Path.Combine(home, ".env");
        File.CreateSymbolicLink(link, secret); // what alice could plant in a directory of her own
        var own = Path.Combine(home, "own.env");
        File.WriteAllText(own, "GREETING=hello\n");
        File.SetUnixFileMode(own, (UnixFileMode)0x180);
        Chown(alice, home, own);
        supd.WriteJob("setuid-leak", $"setuid {Alice}\nenv-file {link}\nexec sh -c 'echo SECRET=$SECRET; exec sleep 1010'\n");
        supd.WriteJob("setuid-fine", $"setuid {Alice}\nenv-file {own}\nexec sh -c 'echo GREETING=$GREETING; exec sleep 1010'\n");
        await supd.ReloadJobsAsync();

        var leak = await supd.CtlAsync("start", "setuid-leak");
        Assert.That(leak.ExitCode, Is.EqualTo(1), leak.ToString());
        Assert.That(leak.Stderr, Does.Contain($"unable to read env-file: {link}: Permission denied (uid {alice.Uid} may not read it)"), leak.ToString());
        Assert.That(supd.ReadLog("setuid-leak"), Does.Not.Contain("topsecret"));

        // A file the user may read is read as before.
        var fine = await supd.CtlAsync("start", "setuid-fine");
        Assert.That(fine.ExitCode, Is.EqualTo(0), fine.ToString());
        await supd.WaitForLogAsync("setuid-fine", "GREETING=hello\n");
    }

    private static void Chown((uint Uid, uint Gid) user, params string[] paths)
    {
        using var chown = Process.Start("chown", [$"{user.Uid}:{user.Gid}", .. paths])!;
        chown.WaitForExit();
        Assert.That(chown.ExitCode, Is.Zero, "chown");
    }

    [Test]
    public async Task Supd_check_rejects_expressions_over_the_operand_and_depth_limits_fast_naming_file_and_line()
    {
        var dir = Path.Combine(Path.GetTempPath(), "supd-h16-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // 200 000 operands is 1 MB: under the file limit, so the expression limit is what refuses it.
            File.WriteAllText(Path.Combine(dir, "wide.conf"), "exec true\nstart on " + string.Join(" or ", Enumerable.Repeat("a", 200_000)) + "\n");
            File.WriteAllText(Path.Combine(dir, "deep.conf"), "start on " + new string('(', 100_000) + "a" + new string(')', 100_000) + "\n");
            File.WriteAllText(Path.Combine(dir, "envs.conf"), string.Concat(Enumerable.Repeat("env A=1\n", 100_000)));
            File.WriteAllText(Path.Combine(dir, "fine.conf"), "start on " + string.Join(" or ", Enumerable.Repeat("a", 1024)) + "\nexec true\n");
            var clock = Stopwatch.StartNew();
            var result = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", dir]);
            TestContext.Out.WriteLine($"supd --check: {clock.ElapsedMilliseconds} ms\n{result}");
            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.Not.Zero);
                Assert.That(result.Stdout + result.Stderr, Does.Contain($"{dir}/wide.conf:2: Expression too large (more than 1024 events)"));
                Assert.That(result.Stdout + result.Stderr, Does.Contain($"{dir}/deep.conf:1: Expression nested too deeply (more than 1024 open parentheses)"));
                Assert.That(result.Stdout + result.Stderr, Does.Contain($"{dir}/envs.conf:4097: Too many stanzas (more than 4096 in one file)"));
                Assert.That(result.Stdout + result.Stderr, Does.Not.Contain("fine.conf"));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Jobs_over_the_expression_limits_are_rejected_alone_while_the_largest_allowed_one_loads_shows_and_matches()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("wide", "start on " + string.Join(" or ", Enumerable.Repeat("a", 300_000)) + "\nexec true\n");
        supd.WriteJob("wider", "start on " + string.Join(" or ", Enumerable.Repeat("a", 150_000)) + "\nexec true\n");
        supd.WriteJob("edge", "task\nstart on " + string.Join(" and ", Enumerable.Repeat("(a or b)", 512)) + "\nexec echo matched\n");
        supd.WriteJob("steady", "start on startup\nexec sleep 1010\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("steady", "start/running");

        var show = await supd.CtlAsync("show-config", "edge");
        var emit = await supd.CtlAsync("emit", "a");
        Assert.Multiple(() =>
        {
            Assert.That(supd.DaemonOutput, Does.Contain("wide.conf: too large (1.4 MiB > 1 MiB)"));
            Assert.That(supd.DaemonOutput, Does.Contain("wider.conf:2: Expression too large (more than 1024 events)"));
            Assert.That(show.ExitCode, Is.Zero, show.ToString());
            Assert.That(show.Stdout, Does.StartWith("edge\n  start on ((((("));
            Assert.That(emit.ExitCode, Is.Zero, emit.ToString());
        });
        await supd.WaitForLogAsync("edge", "matched");
        Assert.That(supd.SupdProcess!.HasExited, Is.False);
    }

    [Test]
    public async Task A_one_gibibyte_sparse_job_file_is_rejected_alone_and_a_reload_still_loads_a_new_job_beside_it()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("steady", "start on startup\nexec sleep 1010\n");
        using (var sparse = new FileStream(Path.Combine(supd.JobDir, "x.conf"), FileMode.Create)) sparse.SetLength(1L << 30);
        await supd.StartAsync();
        await supd.WaitForStatusAsync("steady", "start/running");
        Assert.That(supd.DaemonOutput, Does.Contain($"{supd.JobDir}/x.conf: too large (1 GiB > 1 MiB)"));

        supd.WriteJob("added", "exec sleep 1010\n");
        var reload = await supd.CtlAsync("reload-configuration");
        Assert.That(reload.Stdout + reload.Stderr, Does.Contain("x.conf: too large (1 GiB > 1 MiB)"), reload.ToString());
        var start = await supd.CtlAsync("start", "added");
        Assert.That(start.Stdout, Does.Contain("added start/running"), start.ToString());

        var clock = Stopwatch.StartNew();
        var check = await SupdHarness.RunCtlAsync(Binaries.Supd, ["--check", "--job-dir", supd.JobDir]);
        TestContext.Out.WriteLine($"supd --check beside a 1 GiB file: {clock.ElapsedMilliseconds} ms");
        Assert.That(check.Stdout + check.Stderr, Does.Contain("x.conf: too large (1 GiB > 1 MiB)"), check.ToString());
    }

    [Test]
    public async Task A_hundred_thousand_variable_status_or_emit_is_refused_before_the_loop_and_other_clients_are_answered()
    {
        var supd = _shared;
        supd.WriteJob("flooded-steady", "exec sleep 1010\n");
        await supd.ReloadJobsAsync();
        await supd.StartJobAsync("flooded-steady");
        await supd.WaitForStatusAsync("flooded-steady", "start/running");

        using var raw = new RawClient(supd.Socket);
        var variables = Enumerable.Range(0, 100_000).Select(i => $"K{i}=V").ToArray();
        var clock = Stopwatch.StartNew();
        var status = Assert.ThrowsAsync<RpcException>(async () => await raw.Client.StatusAsync(new StatusRequest { Job = "flooded-steady", Env = { variables } }))!;
        var emit = Assert.ThrowsAsync<RpcException>(async () => await raw.Client.EmitAsync(new EmitRequest { Event = "flood", Env = { variables } }))!;
        TestContext.Out.WriteLine($"two 100 000-variable requests refused in {clock.ElapsedMilliseconds} ms");
        Assert.Multiple(() =>
        {
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), status.ToString());
            Assert.That(status.Status.Detail, Is.EqualTo("too many variables (100000 > 4096)"));
            Assert.That(emit.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), emit.ToString());
        });

        // Many at once from one client while another asks for status: it is answered.
        var flood = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            try { await raw.Client.StatusAsync(new StatusRequest { Job = "flooded-steady", Env = { variables } }); }
            catch (RpcException) { }
        })).ToArray();
        var other = await supd.CtlAsync("status", "flooded-steady");
        await Task.WhenAll(flood);
        Assert.That(other.Stdout, Does.Contain("start/running"), other.ToString());
    }

    [Test]
    public async Task A_state_file_with_missing_parts_or_process_group_0_or_1_is_set_aside_and_nothing_is_signalled()
    {
        // A live process the bad entries name, with its true start time: before, group 0 made supd SIGKILL its own
        // group and group 1 every process it could signal; now the file is set aside and this one lives on.
        using var victim = Process.Start("sleep", "1000")!;
        try
        {
            var stat = File.ReadAllText($"/proc/{victim.Id}/stat");
            var startTime = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
            var entry = $"{{\"job\":\"x\",\"instance\":\"\",\"process\":\"main\",\"pid\":{victim.Id},\"processGroup\":GROUP,\"startTime\":{startTime},\"killTimeoutMs\":100}}";
            var bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            string State(string processes, string stopped = "") =>
                $"{{\"version\":1,\"bootId\":\"{bootId}\",\"stoppedByHand\":[{stopped}],\"startedByHand\":[],\"processes\":[{processes}]}}";
            foreach (var json in new[]
            {
                "{\"version\":1}",
                State(entry.Replace("GROUP", "0", StringComparison.Ordinal)),
                State(entry.Replace("GROUP", "1", StringComparison.Ordinal)),
                State("", stopped: "null"),
            })
            {
                await using var supd = new SupdHarness();
                supd.WriteJob("svc", "start on startup\nexec sleep 1010\n");
                Directory.CreateDirectory(supd.StateDir);
                var stateFile = Path.Combine(supd.StateDir, "goals.json");
                File.WriteAllText(stateFile, json);

                await supd.StartAsync();

                await supd.WaitForStatusAsync("svc", "start/running");
                Assert.That(supd.DaemonOutput, Does.Contain($"State file {stateFile} "), json);
                Assert.That(Directory.GetFiles(supd.StateDir, "goals.json.corrupt-*"), Has.Length.EqualTo(1), json);
                Assert.That(supd.SupdProcess!.HasExited, Is.False, json);
                Assert.That(victim.HasExited, Is.False, json);
            }
        }
        finally
        {
            victim.Kill();
            await victim.WaitForExitAsync();
        }
    }
}
