using System.CommandLine;
using System.CommandLine.Help;
using Grpc.Core;
using Supervisor.Ctl.Formatting;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Commands;

/// <summary>supctl's verbs and options. Each action calls one RPC through <see cref="CommandRunner"/> and prints its result.</summary>
internal sealed class CtlCommandLine
{
    private readonly Option<string?> _socket = new("--socket")
    {
        Description = "supd's control socket (default: $SUPD_SOCKET, else supd's default for this user)",
        Recursive = true,
    };

    public CtlCommandLine()
    {
        // Not a RootCommand: that is named after argv[0], and a native supctl linked as `status` (or start, stop…) would
        // get a root named like its own verb, which System.CommandLine rejects.
        Root = new Command("supctl", "supctl: control supd, the process supervisor") { _socket, JsonOutput.Option, new HelpOption(), new VersionOption() };
        Root.Subcommands.Add(List());
        Root.Subcommands.Add(Status());
        Root.Subcommands.Add(JobControl("start", "Start a job and wait until it runs (a task: until it has finished)",
            (client, request, ct) => client.StartAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true));
        Root.Subcommands.Add(JobControl("stop", "Stop a job and wait until it has stopped",
            (client, request, ct) => client.StopAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true));
        Root.Subcommands.Add(JobControl("restart", "Run the job's check, if it has one; then stop and start it again with the variables given (none: none), and wait until it runs",
            (client, request, ct) => client.RestartAsync(request, cancellationToken: ct).ResponseAsync, printStatus: true, checks: true));
        Root.Subcommands.Add(JobControl("reload", "Run the job's check, if it has one; then send its reload signal (SIGHUP unless it sets one) to its main process",
            (client, request, ct) => client.ReloadAsync(request, cancellationToken: ct).ResponseAsync, printStatus: false, checks: true));
        Root.Subcommands.Add(Disable("disable", "Take a job out of event-driven starts, across supd restarts: no event starts it, an explicit start still does (what runs keeps running)",
            (client, request, ct) => client.DisableAsync(request, cancellationToken: ct).ResponseAsync));
        Root.Subcommands.Add(Disable("enable", "Undo disable: the job's start on events start it again",
            (client, request, ct) => client.EnableAsync(request, cancellationToken: ct).ResponseAsync));
        Root.Subcommands.Add(Emit());
        Root.Subcommands.Add(Usage());
        Root.Subcommands.Add(ShowConfig());
        Root.Subcommands.Add(CheckConfig());
        Root.Subcommands.Add(ReopenLogs());
        Root.Subcommands.Add(Version());
        Root.Subcommands.Add(Access());
        Root.Subcommands.Add(Events());
        Root.Subcommands.Add(ReloadConfiguration());
        Root.Subcommands.Add(Show());
        Root.Subcommands.Add(Log());
        Root.Subcommands.Add(IsRunning());
        Root.Subcommands.Add(Help());
        Root.Subcommands.Add(Completion());
    }

    public Command Root { get; }

    private Command List()
    {
        var command = new Command("list", "One status line per job (per instance for instance jobs)");
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await client.ListAsync(new ListRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
            foreach (var status in reply.Jobs) output.WriteLine(StatusFormatter.StatusLine(status));
        }));
        return command;
    }

    private Command Status()
    {
        var job = JobArgument();
        var env = EnvArgument("KEY=VALUE pairs that select the instance");
        var command = new Command("status", "Print a job's status line") { job, env };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob());
            return Runner(parse).RunAsync(async (client, output) =>
            {
                var request = StatusRequestFor(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
                output.WriteLine(StatusFormatter.StatusLine(reply.Status));
                // initctl's one line, then what did not go as the job file says, one indented line each.
                if (reply.Status.ExpectProblem.Length > 0) output.WriteLine($"\t{reply.Status.ExpectProblem}");
                foreach (var hint in reply.Status.NotApplied) output.WriteLine($"\tnot applied: {hint}");
            });
        });
        return command;
    }

    private Command JobControl(
        string name, string description,
        Func<Supervisor.Protocol.Supervisor.SupervisorClient, JobControlRequest, CancellationToken, Task<JobControlReply>> call,
        bool printStatus, bool checks = false)
    {
        var job = JobArgument();
        var env = EnvArgument("KEY=VALUE pairs: the job's variables (and its instance)");
        var noWait = new Option<bool>("--no-wait", "-n") { Description = "Return once the goal is changed" };
        var command = new Command(name, description) { job, env };
        var noCheck = new Option<bool>("--no-check") { Description = "Skip the job's check (restart or reload even if it would fail)" };
        if (printStatus) command.Options.Add(noWait);
        if (checks) command.Options.Add(noCheck);
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob());
            return Runner(parse).RunAsync(async (client, output) =>
            {
                // Acting on the calling job never waits: it would wait for itself.
                var request = new JobControlRequest
                {
                    Job = target.Job, NoWait = parse.GetValue(noWait) || target.FromEnvironment, NoCheck = parse.GetValue(noCheck),
                };
                if (target.Instance is not null) request.Instance = target.Instance;
                request.Env.AddRange(parse.GetValue(env) ?? []);
                var reply = await call(client, request, ct).ConfigureAwait(false);
                if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
                if (printStatus && reply.Status is not null) output.WriteLine(StatusFormatter.StatusLine(reply.Status));
            });
        });
        return command;
    }

    /// <summary>disable / enable: the whole job (no variables), then its status line.</summary>
    private Command Disable(string name, string description,
        Func<Supervisor.Protocol.Supervisor.SupervisorClient, JobControlRequest, CancellationToken, Task<JobControlReply>> call)
    {
        var job = new Argument<string>("job") { Description = "Job name (its path in the job dir without .conf)" };
        var command = new Command(name, description) { job };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await call(client, new JobControlRequest { Job = parse.GetValue(job)! }, ct).ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
            if (reply.Status is not null) output.WriteLine(StatusFormatter.StatusLine(reply.Status));
        }));
        return command;
    }

    private Command Emit()
    {
        var name = new Argument<string>("event") { Description = "Event name" };
        var env = EnvArgument("KEY=VALUE variables of the event");
        var noWait = new Option<bool>("--no-wait", "-n") { Description = "Return at once instead of waiting for the event to finish" };
        var command = new Command("emit", "Emit an event; wait until every job it started is running (tasks: finished)") { name, env, noWait };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var request = new EmitRequest { Event = parse.GetValue(name)!, NoWait = parse.GetValue(noWait) };
            request.Env.AddRange(parse.GetValue(env) ?? []);
            var reply = await client.EmitAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) JsonOutput.Write(output, reply);
        }));
        return command;
    }

    private Command Usage()
    {
        var job = new Argument<string>("job") { Description = "Job name" };
        var command = new Command("usage", "Print a job's usage stanza (the variables its start takes)") { job };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var name = parse.GetValue(job)!;
            var reply = await client.ListAsync(new ListRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            var status = reply.Jobs.FirstOrDefault(j => j.Job == name)
                ?? throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.NotFound, $"Unknown job: {name}"));
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, status); return; }
            // initctl printed a bare "Usage: " here; say what it means instead.
            output.WriteLine(status.Usage.Length > 0 ? $"Usage: {status.Usage}" : $"{name} has no usage stanza: its job file does not say which variables its start takes");
        }));
        return command;
    }

    private Command ShowConfig()
    {
        var job = OptionalJobArgument();
        var enumerate = new Option<bool>("--enumerate", "-e") { Description = "One line per event of start on/stop on, with its job and variables" };
        var command = new Command("show-config", "Print each job's emits, start on and stop on (initctl's format)") { job, enumerate };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var request = new ShowConfigRequest { Job = parse.GetValue(job) ?? "", Enumerate = parse.GetValue(enumerate) };
            var reply = await client.ShowConfigAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
            output.Write(reply.Text);
        }));
        return command;
    }

    private Command CheckConfig()
    {
        var job = OptionalJobArgument();
        var ignore = new Option<string[]>("--ignore-events", "-i")
        {
            Description = "Comma-separated events to treat as emitted (ev1,ev2); may be repeated",
            HelpName = "EVENTS",
        };
        var warn = new Option<bool>("--warn", "-w") { Description = "Also report an unreachable side of an 'or'" };
        var command = new Command("check-config", "Report start on/stop on events nothing emits and jobs that do not exist; exit 1 if any")
        {
            job, ignore, warn,
        };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var request = new CheckConfigRequest { Job = parse.GetValue(job) ?? "", Warn = parse.GetValue(warn) };
            request.IgnoreEvents.AddRange((parse.GetValue(ignore) ?? []).SelectMany(list => list.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            var reply = await client.CheckConfigAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) JsonOutput.Write(output, reply);
            else output.Write(reply.Text);
            return reply.Problems.Count == 0 ? CommandRunner.Success : CommandRunner.Refused;
        }));
        return command;
    }

    private Command ReopenLogs()
    {
        var command = new Command("reopen-logs", "Reopen every job log file (after an external logrotate moved them); needs admin");
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await client.ReopenLogsAsync(new ReopenLogsRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) JsonOutput.Write(output, reply);
        }));
        return command;
    }

    private Command Version()
    {
        var command = new Command("version", "Print supd's and supctl's versions");
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await client.VersionAsync(new VersionRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            var supctl = $"supctl (supd {typeof(CtlCommandLine).Assembly.GetName().Version?.ToString(3)})";
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, ("supd", reply.Version), ("supctl", supctl)); return; }
            output.WriteLine(reply.Version);
            output.WriteLine(supctl);
        }));
        return command;
    }

    private Command Access()
    {
        var user = new Argument<string?>("user") { Description = "A user name or uid (default: you)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("access", "Print what a user may do: daemon-wide rights, per-job rights, and the rules granting them") { user };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await client.AccessAsync(new AccessRequest { User = parse.GetValue(user) ?? "" }, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }
            foreach (var line in AccessFormatter.Lines(reply)) output.WriteLine(line);
        }));
        return command;
    }

    /// <summary>LSB-style, for scripts: exit 0 when the job runs, 3 when it does not, 4 when that cannot be told.</summary>
    private Command IsRunning()
    {
        var job = JobArgument();
        var env = EnvArgument("KEY=VALUE pairs that select the instance");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing; only the exit status tells" };
        var command = new Command("is-running", "Exit 0 if a job is running, 3 if it is not, 4 if unknown (no such job, supd unreachable)")
        {
            job, env, quiet,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return CommandRunner.MissingJob();
            var running = false;
            var rc = await Runner(parse).RunAsync(async (client, output) =>
            {
                var request = StatusRequestFor(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                running = reply.Status.Goal == Goal.Start && reply.Status.State == State.Running;
                if (JsonOutput.Requested(parse)) JsonOutput.Write(output, reply);
                else if (!parse.GetValue(quiet)) output.WriteLine(StatusFormatter.StatusLine(reply.Status));
            }).ConfigureAwait(false);
            return rc != CommandRunner.Success ? CommandRunner.StatusUnknown : running ? CommandRunner.Success : CommandRunner.NotRunning;
        });
        return command;
    }

    /// <summary><c>supctl help VERB</c> is <c>supctl VERB --help</c>; <c>supctl help</c> lists the verbs.</summary>
    private Command Help()
    {
        var verb = new Argument<string?>("verb") { Description = "The verb to explain", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("help", "Print the help of a verb (or the list of verbs)") { verb };
        command.SetAction((parse, ct) =>
        {
            var name = parse.GetValue(verb);
            if (name is not null && Root.Subcommands.All(c => c.Name != name))
            {
                Console.Error.WriteLine($"{Invocation.ProgramName}: {VerbSuggestion.Message(name, Root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}");
                return Task.FromResult(CommandRunner.Usage);
            }
            return Root.Parse(name is null ? ["--help"] : [name, "--help"]).InvokeAsync(cancellationToken: ct);
        });
        return command;
    }

    /// <summary><c>supctl completion bash [NAME…]</c>: the completion script, bound to this supctl binary (CompletionScript).</summary>
    private static Command Completion()
    {
        var shell = new Argument<string>("shell") { Description = "The shell: bash" };
        shell.AcceptOnlyFromAmong("bash");
        var names = new Argument<string[]>("name")
        {
            Description = "More command names to complete as supctl (your aliases of it)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("completion", "Print a bash completion script for this supctl: source <(supctl completion bash)") { shell, names };
        command.SetAction(parse =>
        {
            Console.Out.Write(CompletionScript.Bash(Environment.ProcessPath ?? "supctl", parse.GetValue(names) ?? []));
            return CommandRunner.Success;
        });
        return command;
    }

    private Command Events()
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events and state changes as they happen" };
        var job = new Option<string?>("--job") { Description = "Only this job's events and state changes", HelpName = "JOB" };
        var lines = new Option<int?>("--lines", "-n") { Description = "How many recent items to print first (default: every retained one; with -f: 10)" };
        var command = new Command("events", "Print recent events and job state changes with timestamps; -f follows new ones") { follow, job, lines };
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var following = parse.GetValue(follow);
            var request = new WatchEventsRequest
            {
                Job = parse.GetValue(job) ?? "",
                Follow = following,
                History = (uint)Math.Max(0, parse.GetValue(lines) ?? (following ? 10 : int.MaxValue)),
            };
            // --json: one object per line, in the event stream's own documented shape (seq, time, type, ...).
            var format = JsonOutput.Requested(parse) ? (Func<WatchEventsReply, string>)EventFormatter.Json : EventFormatter.Text;
            using var call = client.WatchEvents(request, cancellationToken: ct);
            await foreach (var item in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                await output.WriteLineAsync(format(item)).ConfigureAwait(false);
        }));
        return command;
    }

    private Command ReloadConfiguration()
    {
        var command = new Command("reload-configuration", "Re-read the job directories: new jobs appear, removed ones stop, changed ones apply at their next start; needs admin");
        command.SetAction((parse, ct) => Runner(parse).RunAsync(async (client, output) =>
        {
            var reply = await client.ReloadConfigurationAsync(new ReloadConfigurationRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
            if (JsonOutput.Requested(parse)) JsonOutput.Write(output, reply);
            else
            {
                foreach (var line in ReloadFormatter.Lines(reply)) output.WriteLine(line);
                foreach (var error in reply.Errors) await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            }
            return reply.Errors.Count == 0 ? CommandRunner.Success : CommandRunner.Refused;
        }));
        return command;
    }

    private Command Show()
    {
        var job = JobArgument();
        var env = EnvArgument("KEY=VALUE pairs that select the instance");
        var command = new Command("show", "Show a job in detail: state and since when, main process, last exit, failure, backoff, log and its last lines") { job, env };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob());
            return Runner(parse).RunAsync(async (client, output) =>
            {
                var request = StatusRequestFor(target.Job, target.Instance, parse.GetValue(env));
                var reply = await client.StatusAsync(request, cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                var tail = new TailLogRequest { Job = target.Job, Lines = ShowLogLines };
                tail.Env.AddRange(parse.GetValue(env) ?? []);
                var text = new MemoryStream();
                await foreach (var chunk in ReadTail(client, tail, ct).ConfigureAwait(false)) chunk.Data.WriteTo(text);
                var log = System.Text.Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
                if (JsonOutput.Requested(parse))
                {
                    var lastLines = ShowFormatter.LogLines(log).TakeLast(ShowLogLines);
                    JsonOutput.Write(output, "status", reply.Status, "logLines", lastLines);
                    return;
                }
                foreach (var line in ShowFormatter.Lines(reply.Status, log, ShowLogLines, DateTimeOffset.Now)) output.WriteLine(line);
            });
        });
        return command;
    }

    private const int ShowLogLines = 10;

    private Command Log()
    {
        var job = JobArgument();
        var env = EnvArgument("KEY=VALUE pairs that select the instance");
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the last lines to print", DefaultValueFactory = _ => 10 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new output, across rotations, until Ctrl-C" };
        var command = new Command("log", "Print the last lines of a job's log; with -f, follow it") { job, env, lines, follow };
        command.SetAction((parse, ct) =>
        {
            if (Invocation.Target(parse.GetValue(job)) is not { } target) return Task.FromResult(CommandRunner.MissingJob());
            return Runner(parse).RunAsync(async (client, output) =>
            {
                var request = new TailLogRequest { Job = target.Job, Lines = parse.GetValue(lines), Follow = parse.GetValue(follow) };
                request.Env.AddRange(parse.GetValue(env) ?? []);
                if (JsonOutput.Requested(parse))
                {
                    // One {"line": "..."} object per log line (a last line without its newline comes at the end).
                    var pending = new List<byte>();
                    await foreach (var chunk in ReadTail(client, request, ct).ConfigureAwait(false))
                    {
                        foreach (var b in chunk.Data.Span)
                        {
                            if (b != (byte)'\n') { pending.Add(b); continue; }
                            JsonOutput.Write(output, ("line", System.Text.Encoding.UTF8.GetString([.. pending])));
                            pending.Clear();
                        }
                        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                    if (pending.Count > 0) JsonOutput.Write(output, ("line", System.Text.Encoding.UTF8.GetString([.. pending])));
                    return;
                }
                // Raw bytes, as the job wrote them; flushed per piece so a follower sees each line as it comes.
                // Ctrl-C cancels the stream; supctl then exits 130, as tail -f does.
                await using var stdout = Console.OpenStandardOutput();
                await foreach (var chunk in ReadTail(client, request, ct).ConfigureAwait(false))
                {
                    chunk.Data.WriteTo(stdout);
                    await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
            });
        });
        return command;
    }

    private static async IAsyncEnumerable<TailLogReply> ReadTail(Supervisor.Protocol.Supervisor.SupervisorClient client, TailLogRequest request,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var call = client.TailLog(request, cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false)) yield return call.ResponseStream.Current;
    }

    /// <summary>The status of one job: by instance name inside a job, else by the KEY=VALUE pairs given.</summary>
    private static StatusRequest StatusRequestFor(string job, string? instance, string[]? env)
    {
        var request = new StatusRequest { Job = job };
        if (instance is not null) request.Instance = instance;
        request.Env.AddRange(env ?? []);
        return request;
    }

    private CommandRunner Runner(ParseResult parse) => new(parse.GetValue(_socket));

    // Optional: inside a job process, no job means the calling job ($UPSTART_JOB), as with initctl.
    private static Argument<string?> JobArgument() => new("job")
    {
        Description = "Job name (its path in the job dir without .conf); inside a job, defaults to the calling job",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private static Argument<string?> OptionalJobArgument() =>
        new("job") { Description = "Only this job (default: every job)", Arity = ArgumentArity.ZeroOrOne };

    private static Argument<string[]> EnvArgument(string description) =>
        new("KEY=VALUE") { Description = description, Arity = ArgumentArity.ZeroOrMore };
}
