using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Access;
using Supervisor.Core.Events;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.State;
using Supervisor.Tests.Core.Lifecycle;

namespace Supervisor.Tests.Hardening;

/// <summary>The pure parts of issue 16's bounds and privilege rule: each limit refuses what is over it, by name.</summary>
[TestFixture, Category("Hardening")]
[Parallelizable(ParallelScope.All)]
public sealed class InputBoundsTests
{
    private static JobDefinition Job(string text) =>
        JobParser.Parse("team-a/web", "/test/web.conf", text).Job ?? throw new AssertionException("job did not parse");

    [Test]
    public void A_job_declares_its_instance_variables_and_the_names_its_processes_use()
    {
        var job = Job("instance $PORT\npre-start exec check ${MODE:-x}\nscript\n  run --name=$NAME_2 $1\nend script\nstop on bye WHO=$WHO\n");
        Assert.That(VariablePolicy.DeclaredBy(job), Is.EquivalentTo(new[] { "PORT", "MODE", "NAME_2", "WHO" }));
    }

    [TestCase("PORT", null)]
    [TestCase("PATH", "PATH is a loader, shell or supd variable (only admin may set it)")]
    [TestCase("LD_PRELOAD", "LD_PRELOAD is a loader, shell or supd variable (only admin may set it)")]
    [TestCase("UPSTART_JOB", "UPSTART_JOB is a loader, shell or supd variable (only admin may set it)")]
    [TestCase("SUPD_TAG", "SUPD_TAG is a loader, shell or supd variable (only admin may set it)")]
    [TestCase("BASH_FUNC_ls%%", "\"BASH_FUNC_ls%%\" is not a variable name")]
    [TestCase("SECRET", "team-a/web sets SECRET itself (only admin may override it)")]
    [TestCase("SHARED", "team-a/web sets SHARED itself (only admin may override it)")]
    [TestCase("TEAM", "team-a/web sets TEAM itself (only admin may override it)")]
    [TestCase("OTHER", "team-a/web does not declare OTHER (a job declares a variable in its instance stanza or as $OTHER in its processes)")]
    public void Refusal_names_why_a_variable_is_not_accepted(string name, string? why)
    {
        // HOME and PATH are used in the script, SECRET is set and used: mentioning a name does not open it.
        var job = Job("env SECRET=x\nexport SHARED\ninstance $PORT\nscript\n  echo $PORT $PATH $SECRET $OTHER_NOT $HOME $LD_PRELOAD\nend script\n");
        Assert.That(VariablePolicy.Refusal(job, name, ["TEAM"]), Is.EqualTo(why));
    }

    [Test]
    public void Check_refuses_the_whole_request_with_PermissionDenied_naming_the_caller_and_the_variable()
    {
        var job = Job("instance $PORT\nexec serve\n");
        var refused = Assert.Throws<SupervisorException>(() => VariablePolicy.Check(job, ["PORT=80", "PATH=/tmp"], "alice", []))!;
        Assert.That(refused.Error, Is.EqualTo(SupervisorError.PermissionDenied));
        Assert.That(refused.Message, Is.EqualTo("permission denied: alice may not set variable PATH: PATH is a loader, shell or supd variable (only admin may set it)"));
        Assert.DoesNotThrow(() => VariablePolicy.Check(job, ["PORT=80"], "alice", []));
    }

    [Test]
    public void Request_limits_name_the_limit_and_accept_what_is_under_it()
    {
        var many = Assert.Throws<SupervisorException>(() => RequestLimits.Check(Enumerable.Repeat("K=V", Limits.MaxRequestVariables + 1).ToArray()))!;
        var longOne = Assert.Throws<SupervisorException>(() => RequestLimits.Check(["K=" + new string('x', Limits.MaxVariableBytes)]))!;
        var nul = Assert.Throws<SupervisorException>(() => RequestLimits.Check(["K=a\0b"]))!;
        var name = Assert.Throws<SupervisorException>(() => RequestLimits.Check([], new string('j', Limits.MaxNameBytes + 1)))!;
        Assert.Multiple(() =>
        {
            Assert.That(many.Message, Is.EqualTo("too many variables (4097 > 4096)"));
            Assert.That(many.Error, Is.EqualTo(SupervisorError.TooLarge));
            Assert.That(longOne.Message, Is.EqualTo("variable K too long (128 KiB > 128 KiB)"));
            Assert.That(nul.Message, Is.EqualTo("variable K contains a NUL character"));
            Assert.That(name.Message, Is.EqualTo("name too long (4 KiB > 4 KiB)"));
        });
        Assert.DoesNotThrow(() => RequestLimits.Check(Enumerable.Repeat("K=" + new string('x', 100), Limits.MaxRequestVariables).ToArray(), "web", null));
    }

    [Test]
    public void Limits_print_their_sizes_the_way_messages_say_them()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Limits.Bytes(1L << 30), Is.EqualTo("1 GiB"));
            Assert.That(Limits.Bytes(1536L * 1024 * 1024), Is.EqualTo("1.5 GiB"));
            Assert.That(Limits.Bytes(Limits.MaxJobFileBytes), Is.EqualTo("1 MiB"));
            Assert.That(Limits.Bytes(812), Is.EqualTo("812 bytes"));
        });
    }

    [Test]
    public void Env_files_over_their_line_and_variable_limits_fail_naming_file_and_line()
    {
        var values = new List<KeyValuePair<string, string>>();
        Assert.That(EnvFile.TryParse("A=1\nB=" + new string('x', Limits.MaxEnvFileLineBytes) + "\n", "/e.env", values, out var longLine), Is.False);
        Assert.That(longLine, Is.EqualTo("/e.env:2: line too long (128 KiB > 128 KiB)"));
        var many = string.Concat(Enumerable.Range(0, Limits.MaxEnvFileVariables + 1).Select(i => $"V{i}=1\n"));
        Assert.That(EnvFile.TryParse(many, "/e.env", [], out var tooMany), Is.False);
        Assert.That(tooMany, Is.EqualTo($"/e.env:{Limits.MaxEnvFileVariables + 1}: too many variables (more than {Limits.MaxEnvFileVariables})"));
    }

    [Test]
    public void A_sparse_env_file_over_the_size_limit_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"supd-envfile-{Guid.NewGuid():N}.env");
        try
        {
            using (var sparse = new FileStream(path, FileMode.Create)) sparse.SetLength(Limits.MaxEnvFileBytes + 1);
            Assert.That(EnvFile.TryRead([new EnvFileReference(path, false)], out _, out var error), Is.False);
            Assert.That(error, Is.EqualTo($"unable to read env-file: {path}: too large (1 MiB > 1 MiB)"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Expressions_at_the_limits_parse_and_one_past_them_is_refused_with_the_line()
    {
        string Operands(int n) => string.Join(" or ", Enumerable.Repeat("a", n));
        Assert.That(JobParser.Parse("j", "/j.conf", $"start on {Operands(Limits.MaxExpressionOperands)}\n").Succeeded, Is.True);
        Assert.That(JobParser.Parse("j", "/j.conf", $"exec x\nstart on {Operands(Limits.MaxExpressionOperands + 1)}\n").Error!.ToString(),
            Is.EqualTo("/j.conf:2: Expression too large (more than 1024 events)"));
        var deep = Limits.MaxExpressionDepth;
        Assert.That(JobParser.Parse("j", "/j.conf", $"start on {new string('(', deep)}a{new string(')', deep)}\n").Succeeded, Is.True);
        Assert.That(JobParser.Parse("j", "/j.conf", $"start on {new string('(', deep + 1)}a{new string(')', deep + 1)}\n").Error!.Message,
            Is.EqualTo("Expression nested too deeply (more than 1024 open parentheses)"));
    }

    [Test]
    public void The_largest_expression_prints_matches_and_compares_without_overflowing()
    {
        var text = "start on " + string.Join(" and ", Enumerable.Repeat("a", Limits.MaxExpressionOperands)) + "\n";
        var job = JobParser.Parse("j", "/j.conf", text).Job!;
        var printed = JobPrinter.Print(job);
        Assert.That(Supervisor.Tests.Core.Language.JobAssert.Differences(job, JobParser.Parse("j", "/j.conf", printed).Job!), Is.Empty);
        var matcher = new EventMatcher(job.StartOn!);
        Assert.That(matcher.Handle(new Event(1, "a", new EnvironmentList()), _ => null), Is.True);
        matcher.Reset();
    }

    [Test]
    public void Too_many_stanzas_in_one_file_is_refused_at_the_first_one_over()
    {
        var text = string.Concat(Enumerable.Repeat("env A=1\n", Limits.MaxStanzasPerFile + 1));
        Assert.That(JobParser.Parse("j", "/j.conf", text).Error!.ToString(), Is.EqualTo("/j.conf:4097: Too many stanzas (more than 4096 in one file)"));
    }

    [Test]
    public void Environment_list_keeps_order_replaces_in_place_and_carries_untrusted_marks()
    {
        var list = new EnvironmentList(["A=1", "B=2", "C=3"]);
        list.Set("B", "x");
        list.SetUntrusted("D", "4");
        Assert.That(list.Remove("A"), Is.True);
        Assert.That(list.ToStrings(), Is.EqualTo(new[] { "B=x", "C=3", "D=4" }));
        Assert.That(list.Get("C"), Is.EqualTo("3"));
        var copy = list.Clone();
        Assert.That(copy.IsUntrusted("D"), Is.True);
        Assert.That(copy.IsUntrusted("B"), Is.False);
        copy.Set("D", "trusted now");
        Assert.That(copy.IsUntrusted("D"), Is.False);

        // 100 000 entries: linear (the old list searched for every key).
        var big = new EnvironmentList(Enumerable.Range(0, 100_000).Select(i => $"K{i}=v"));
        Assert.That(big.Count, Is.EqualTo(100_000));
        Assert.That(big.Get("K99999"), Is.EqualTo("v"));
    }

    [TestCase("{\"version\":1}", "has no bootId")]
    [TestCase("{\"version\":4,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[]}", "has an unknown version (4)")]
    [TestCase("{\"version\":2,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[]}", "lacks disabled")]
    [TestCase("{\"version\":2,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[],\"disabled\":[{\"job\":\"\",\"by\":\"x\",\"since\":\"2026-01-01T00:00:00+00:00\"}]}", "disabled[0]: no valid job name or author")]
    [TestCase("{\"version\":2,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[],\"disabled\":[]}", null)]
    [TestCase("{\"version\":1,\"bootId\":\"b\",\"stoppedByHand\":[null],\"startedByHand\":[],\"processes\":[]}", "stoppedByHand[0]: null")]
    [TestCase("{\"version\":1,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[{\"job\":\"x\",\"instance\":\"\",\"variables\":[\"NOEQUALS\"]}],\"processes\":[]}", "startedByHand[0]: a variable that is not KEY=VALUE")]
    [TestCase("{\"version\":1,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[{\"job\":\"x\",\"instance\":\"\",\"process\":\"main\",\"pid\":50,\"processGroup\":0,\"startTime\":1,\"killTimeoutMs\":1}]}", "processes[0]: process group 0 is not a job's")]
    [TestCase("{\"version\":1,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[{\"job\":\"x\",\"instance\":\"\",\"process\":\"main\",\"pid\":1,\"processGroup\":50,\"startTime\":1,\"killTimeoutMs\":1}]}", "processes[0]: pid 1 is not a job's")]
    [TestCase("{\"version\":1,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[]}", null)]
    public void Goal_state_validation_finds_every_invalid_part(string json, string? problem)
    {
        var state = System.Text.Json.JsonSerializer.Deserialize(json, GoalStateJson.Default.GoalState);
        Assert.That(GoalStateValidation.Problem(state), Is.EqualTo(problem));
    }

    [TestCase(-1, "abc-10.out", -1, null)]
    [TestCase(5, "abc-10.out", -1, "survivors: svc: an output pipe without a descriptor of its own")]
    [TestCase(-1, "", -1, "survivors: svc: an output pipe without a descriptor of its own")]
    [TestCase(-1, "../../etc/x", -1, "survivors: svc: an output pipe named ../../etc/x")]
    [TestCase(-1, "abc-10.out", 3, "survivors: the recorded state names a descriptor")]
    public void Recorded_survivors_are_checked_as_a_handover_is_with_pipes_named_and_never_open(int fd, string name, int listenFd, string? problem)
    {
        var survivors = $$"""
            {"version":1,"bootId":"b","listenFd":{{listenFd}},"lockFd":-1,"instances":[{"job":"svc","instance":"","state":"running",
             "mainPid":50,"mainProcessGroup":50,"mainStartTime":7,"stateSince":"2026-01-01T00:00:00+00:00","startVariables":[],
             "envFileValues":[],"envFilesRead":false,"tag":"abc","respawns":{"count":0,"windowStart":0,"windowCount":0,"backoffAttempt":0},
             "deadlineMs":-1,"startedByBoot":true,"pipes":[{"process":"main","errorStream":false,"fd":{{fd}},"atLineStart":true,"pending":"","name":"{{name}}"}],
             "cgroup":"","goal":"start","definitionSource":""}]}
            """;
        var json = "{\"version\":3,\"bootId\":\"b\",\"stoppedByHand\":[],\"startedByHand\":[],\"processes\":[],\"disabled\":[],\"survivors\":" + survivors + "}";
        var state = System.Text.Json.JsonSerializer.Deserialize(json, GoalStateJson.Default.GoalState);
        Assert.That(GoalStateValidation.Problem(state), Is.EqualTo(problem));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(-1)]
    public void Kill_refuses_0_and_plus_or_minus_1_and_supds_own_process(int pid)
    {
        Assert.That(Supervisor.Core.Interop.Libc.IsSignallable(pid), Is.False);
        Assert.That(Supervisor.Core.Interop.Libc.IsSignallable(Environment.ProcessId), Is.False);
        Assert.That(Supervisor.Core.Interop.Libc.Kill(pid, 0), Is.EqualTo(-1));
    }

    [Test]
    public async Task A_transient_spawn_failure_of_a_respawning_job_is_retried_under_its_respawn_rules()
    {
        await using var h = await LoopHarness.CreateAsync(("svc", "respawn\nexec /bin/false\n"), ("once", "exec /bin/false\n"));
        var failures = 2;
        h.Processes.OnSpawn = request => failures-- > 0
            ? SpawnResult.Failed("unable to create output pipe: Too many open files", transient: true)
            : null;

        var starting = h.Loop.StartAsync("svc", []);
        await h.SettleAsync();
        Assert.That(await h.StatusAsync("svc"), Does.StartWith("svc start/respawning"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.1));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.1));
        var status = await starting.Within();
        Assert.That(status!.State, Is.EqualTo(JobState.Running));

        // Without respawn the same failure fails the start with its reason.
        failures = 1;
        var once = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.StartAsync("once", []).Within())!;
        Assert.That(once.Message + string.Join("\n", once.Details), Does.Contain("Too many open files"));
    }

    [Test]
    public async Task Emits_past_the_events_in_flight_limit_are_refused_and_the_loop_keeps_answering()
    {
        // Each event starts an instance whose pre-start never ends (a fake process): the event stays held.
        await using var h = await LoopHarness.CreateAsync(("hold", "instance $N\nstart on ev\npre-start exec /bin/true\nexec /bin/false\n"));
        // Queued in one go (in order, as requests on many connections would be): awaited one by one, each reply's
        // thread hop waited for a core on a busy CI machine, and the test took 90 s instead of 5. The loop's work for
        // them (10 000 instances started) takes 4 s alone and took over 30 s beside the rest of the suite: a bound of
        // its own.
        var emits = Enumerable.Range(0, Limits.MaxEventsInFlight).Select(i => h.Loop.EmitAsync("ev", [$"N={i}"], wait: false)).ToList();
        await Task.WhenAll(emits).WaitAsync(TimeSpan.FromMinutes(5));

        var refused = Assert.ThrowsAsync<SupervisorException>(async () => await h.Loop.EmitAsync("ev", ["N=last"], wait: false).Within())!;
        Assert.That(refused.Error, Is.EqualTo(SupervisorError.TooLarge));
        Assert.That(refused.Message, Is.EqualTo("too many events in flight (10000 emitted and not finished); try again later"));
        Assert.That(await h.Loop.ListAsync().Within(), Has.Count.EqualTo(Limits.MaxEventsInFlight));
    }

    private sealed class LastStore : IGoalStore
    {
        private GoalState _last = GoalState.Empty;
        public void Save(GoalState state) => Volatile.Write(ref _last, state);
        public GoalState Last => Volatile.Read(ref _last);
    }

    [Test]
    public async Task Variables_a_caller_without_admin_gave_stay_untrusted_across_a_restart_of_supd()
    {
        const string Job = "script\n  echo $GREETING\nend script\n";
        await using (var h = await LoopHarness.CreateAsync(("web", Job)))
        {
            var store = new LastStore();
            await h.Loop.RestoreGoalsAsync(GoalState.Empty, store, "boot").Within();
            await h.Loop.StartAsync("web", ["GREETING=hi"], wait: false, restricted: "alice").Within();
            var saved = await Support.Eventually.GetAsync(() => Task.FromResult(store.Last), g => g.StartedByHand.Count == 1, "the goal saved");
            Assert.That(saved.StartedByHand[0].Untrusted, Is.True);
        }

        // A hand-edited (or older) file with PATH in an untrusted goal: restored without it.
        await using var again = await LoopHarness.CreateAsync(("web", Job));
        var state = new GoalState { BootId = "boot", StartedByHand = [new InstanceGoal("web", "", ["GREETING=hi", "PATH=/tmp/evil"], Untrusted: true)] };
        await again.Loop.RestoreGoalsAsync(state, new LastStore(), "boot").Within();
        await again.SettleAsync();
        var environment = again.Processes.Spawns[^1].Request.Environment;
        Assert.That(environment, Does.Contain("GREETING=hi"));
        Assert.That(environment, Has.None.StartsWith("PATH=/tmp/evil"));
    }
}
