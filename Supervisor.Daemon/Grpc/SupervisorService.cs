using Grpc.Core;
using Supervisor.Core.Access;
using Supervisor.Core.Language;
using Supervisor.Daemon.Access;
using Supervisor.Daemon.Hosting;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Containment;
using Supervisor.Protocol;
using ProtoService = Supervisor.Protocol.Supervisor;

namespace Supervisor.Daemon.Grpc;

/// <summary>
/// The control API as a thin adapter: validate, send one request to the supervision loop, await its reply, map it.
/// Refusals come back as <see cref="SupervisorException"/> and leave as a status code whose detail is the line supctl
/// prints (plus indented lines that explain a failure).
/// </summary>
public sealed class SupervisorService(
    SupervisorLoop loop, SupervisorRuntime runtime, AccessPolicy policy, JobLogDirectory logs, EventMonitor monitor, TimeProvider time,
    IJobContainment containment, IProcessControl processes, ReexecCoordinator reexec, ActiveControlCalls calls, SurvivalLifecycle survival,
    ILogger<SupervisorService> log)
    : ProtoService.SupervisorBase
{
    public static string VersionText => $"supd (supd {typeof(SupervisorService).Assembly.GetName().Version?.ToString(3)})";

    public override Task<ListReply> List(ListRequest request, ServerCallContext context) => Call(async () =>
    {
        var reply = new ListReply();
        foreach (var snapshot in await loop.ListAsync().ConfigureAwait(false)) reply.Jobs.Add(ProtoMapper.ToProto(snapshot));
        if (request.Resources)
        {
            // Off the loop: one /proc scan and each job's cgroup files, for every running job.
            var resources = new JobResources(containment);
            foreach (var job in reply.Jobs) AddResources(job, resources);
        }
        return reply;
    });

    public override Task<StatusReply> Status(StatusRequest request, ServerCallContext context) => Call(async () =>
    {
        RequestLimits.Check(request.Env, request.Job, request.Instance);
        var status = ProtoMapper.ToProto(await loop.StatusAsync(RequireJob(request.Job), request.Env, Instance(request.HasInstance, request.Instance)).ConfigureAwait(false));
        var main = status.Processes.FirstOrDefault(p => p.Kind == Supervisor.Protocol.ProcessKind.Main);
        if (main is not null) status.MainCommand = ProcFs.CommandLine(main.Pid) ?? "";
        AddResources(status, JobResources.ForOneJob(containment, processes));
        return new StatusReply { Status = status };
    });

    private static void AddResources(JobStatus status, JobResources resources)
    {
        var main = status.Processes.FirstOrDefault(p => p.Kind == Supervisor.Protocol.ProcessKind.Main);
        if (main is not null && resources.Of(main.Pid) is { } usage) status.Resources = ProtoMapper.ToProto(usage);
    }

    /// <summary>The last lines of the job's log, then (follow) what is appended, across rotations, until the caller goes.</summary>
    public override async Task TailLog(TailLogRequest request, IServerStreamWriter<TailLogReply> responseStream, ServerCallContext context)
    {
        if (request.Lines < 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "the number of lines must not be negative"));
        // A finished instance's log is still read (until the instance-log retention removes it).
        var path = await Call(() =>
        {
            RequestLimits.Check(request.Env, request.Job);
            return loop.LogPathAsync(RequireJob(request.Job), request.Env);
        }).ConfigureAwait(false);
        using var following = request.Follow ? calls.Following() : null;
        var chunks = LogTail.ReadAsync(path, request.Lines, request.Follow, time, context.CancellationToken);
        try
        {
            await foreach (var chunk in chunks.ConfigureAwait(false))
            {
                await responseStream.WriteAsync(
                    new TailLogReply { Data = Google.Protobuf.ByteString.CopyFrom(chunk.Data.Span), Rotated = chunk.Rotated },
                    context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The follower pressed Ctrl-C.
        }
        catch (IOException e)
        {
            // A symlink planted at the log's name, a FIFO, a file supd cannot read: said, never followed.
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"cannot read the log of {request.Job}: {e.Message}"));
        }
    }

    public override Task<JobControlReply> Start(JobControlRequest request, ServerCallContext context) =>
        Control(request, () => loop.StartAsync(RequireJob(request.Job), request.Env, !request.NoWait, Instance(request.HasInstance, request.Instance), Restricted(context), By(context)));

    public override Task<JobControlReply> Stop(JobControlRequest request, ServerCallContext context) =>
        Control(request, () => loop.StopAsync(RequireJob(request.Job), request.Env, !request.NoWait, Instance(request.HasInstance, request.Instance), Restricted(context), By(context)));

    public override Task<JobControlReply> Restart(JobControlRequest request, ServerCallContext context) =>
        Control(request, () => loop.RestartAsync(RequireJob(request.Job), request.Env, !request.NoWait, Instance(request.HasInstance, request.Instance), request.NoCheck, Restricted(context), By(context)));

    public override Task<JobControlReply> Disable(JobControlRequest request, ServerCallContext context) =>
        Control(request, async () => await loop.DisableAsync(WholeJob(request, "disable"), By(context)).ConfigureAwait(false));

    public override Task<JobControlReply> Enable(JobControlRequest request, ServerCallContext context) =>
        Control(request, async () => await loop.EnableAsync(WholeJob(request, "enable"), By(context)).ConfigureAwait(false));

    // disable/enable act on the whole job: variables or an instance name would suggest otherwise.
    private static string WholeJob(JobControlRequest request, string verb) =>
        request.Env.Count > 0 || request.HasInstance
            ? throw new SupervisorException(SupervisorError.InvalidArgument, $"{verb} applies to the whole job, every instance: give no KEY=VALUE")
            : RequireJob(request.Job);

    /// <summary>"alice (uid 1000)": who asked, as the connection's credentials say (for show's "stopped by hand, by …").</summary>
    private static string? By(ServerCallContext context) =>
        AccessInterceptor.CallerOf(context) is { } caller ? $"{caller.Name} (uid {caller.Uid})" : null;

    public override Task<JobControlReply> Reload(JobControlRequest request, ServerCallContext context) =>
        Control(request, () => loop.ReloadAsync(RequireJob(request.Job), request.Env, Instance(request.HasInstance, request.Instance), request.NoCheck));

    public override Task<EmitReply> Emit(EmitRequest request, ServerCallContext context) => Call(async () =>
    {
        RequestLimits.Check(request.Env, request.Event);
        await loop.EmitAsync(request.Event, request.Env, !request.NoWait, Restricted(context)).ConfigureAwait(false);
        return new EmitReply();
    });

    /// <summary>
    /// The name of a caller without <c>admin</c>, whose variables the loop admits only where a job declares them
    /// (<see cref="VariablePolicy"/>); null for a caller who may set anything.
    /// </summary>
    private string? Restricted(ServerCallContext context)
    {
        var caller = AccessInterceptor.CallerOf(context) ?? throw new SupervisorException(SupervisorError.PermissionDenied, "no peer credentials");
        return policy.HoldsAdmin(caller) ? null : caller.Name;
    }

    public override Task<ShowConfigReply> ShowConfig(ShowConfigRequest request, ServerCallContext context) => Call(async () =>
    {
        var job = OptionalJob(request.Job);
        var jobs = await loop.DefinitionsAsync(job).ConfigureAwait(false);
        return new ShowConfigReply { Text = ConfigReport.ShowConfig(jobs, job, request.Enumerate) };
    });

    public override Task<CheckConfigReply> CheckConfig(CheckConfigRequest request, ServerCallContext context) => Call(async () =>
    {
        var job = OptionalJob(request.Job);
        var jobs = await loop.DefinitionsAsync(job).ConfigureAwait(false);
        var problems = ConfigReport.CheckConfig(jobs, job, request.IgnoreEvents, request.Warn);
        var reply = new CheckConfigReply { Text = ConfigReport.FormatProblems(problems) };
        reply.Problems.AddRange(problems.Select(p => new CheckConfigProblem { Job = p.Job, Condition = p.Condition, Message = p.Message }));
        return reply;
    });

    public override Task<ReloadConfigurationReply> ReloadConfiguration(ReloadConfigurationRequest request, ServerCallContext context) => Call(async () =>
    {
        var changes = await runtime.ReloadConfigurationAsync("supctl reload-configuration").ConfigureAwait(false);
        var reply = new ReloadConfigurationReply();
        reply.Added.Add(changes.Added);
        reply.Changed.Add(changes.Changed);
        reply.Removed.Add(changes.Removed);
        reply.Errors.Add(changes.Errors.Select(e => e.ToString()));
        return reply;
    });

    public override Task<ReopenLogsReply> ReopenLogs(ReopenLogsRequest request, ServerCallContext context)
    {
        var files = logs.ReopenAll();
        log.LogInformation("Reopened {Files} job log files (supctl reopen-logs)", files);
        return Task.FromResult(new ReopenLogsReply { Files = files });
    }

    // The watcher's queue absorbs a slow client: this method may wait on the stream, the loop never does.
    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<WatchEventsReply> responseStream, ServerCallContext context)
    {
        var job = OptionalJob(request.Job);
        if (job is not null) await Call(() => loop.DefinitionsAsync(job)).ConfigureAwait(false); // Unknown job: refused, not an empty feed
        using var following = request.Follow ? calls.Following() : null;
        using var watcher = monitor.Watch(job, (int)Math.Min(request.History, int.MaxValue), (long)request.AfterSequence, request.Follow);
        try
        {
            await foreach (var item in watcher.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
                await responseStream.WriteAsync(ProtoMapper.ToProto(item), context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (watcher.Dropped > 0) log.LogWarning("events: a watcher fell behind and missed {Dropped} items", watcher.Dropped);
        }
    }

    public override Task<VersionReply> Version(VersionRequest request, ServerCallContext context) =>
        Task.FromResult(new VersionReply
        {
            Version = VersionText,
            Containment = containment.Mode.Describe(),
            ExecHelper = string.Join(' ', processes.ExecHelperCommand),
            ForkServer = processes.ForkServerDescription,
            Reexecs = (uint)reexec.Generation,
            LastReexecFailure = reexec.LastFailure ?? "",
            ReexecFailures = (uint)reexec.Failures,
            Pid = (uint)Environment.ProcessId,
            PipeKeeper = survival.KeeperDescription,
        });

    /// <summary>Everything up to the exec, then the reply; the exec itself once this call has ended (ReexecCoordinator).</summary>
    public override Task<DaemonReexecReply> DaemonReexec(DaemonReexecRequest request, ServerCallContext context) => Call(async () =>
    {
        var plan = await reexec.PrepareAsync(By(context) ?? "supd").ConfigureAwait(false);
        // Not tied to this call's completion: the loop stands still from here, so the exec must come whatever the
        // caller does (ExecAsync waits, bounded, for this call to end first).
        _ = Task.Run(() => reexec.ExecAsync(plan));
        return new DaemonReexecReply { Generation = (uint)reexec.Generation + 1, Instances = (uint)plan.Instances, Pid = (uint)Environment.ProcessId };
    });

    public override Task<AccessReply> Access(AccessRequest request, ServerCallContext context) => Call(() =>
    {
        var caller = string.IsNullOrEmpty(request.User)
            ? AccessInterceptor.CallerOf(context) ?? throw new SupervisorException(SupervisorError.InvalidArgument, "no peer credentials")
            : UserByName(request.User);
        var access = policy.Describe(caller);
        var reply = new AccessReply { User = caller.Name, Uid = caller.Uid, Everything = access.Everything ?? "" };
        reply.Groups.AddRange(new[] { caller.Gid }.Concat(caller.Groups).Distinct().Select(g => SystemAccounts.Instance.GroupName(g) ?? g.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        reply.DaemonWide.AddRange(access.DaemonWide.Select(AccessRights.Name));
        foreach (var rule in access.Rules)
        {
            var grant = new AccessGrant { Rule = rule.Describe() };
            grant.Jobs.AddRange(rule.Jobs);
            grant.Rights.AddRange(rule.Rights.Select(AccessRights.Name));
            reply.Rules.Add(grant);
        }
        return Task.FromResult(reply);
    });

    // Another user, as the system's database has them: uid, primary group, every group (getgrouplist); or a bare uid.
    private static Caller UserByName(string name)
    {
        if (SystemAccounts.Instance.UserId(name) is { } uid && SystemAccounts.PrimaryGroup(name) is { } gid)
            return new Caller(uid, gid, SystemAccounts.GroupsOf(name, gid), 0, name);
        if (uint.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            return new Caller(id, uint.MaxValue, [], 0, SystemAccounts.Instance.UserName(id) ?? $"uid {id}");
        throw new SupervisorException(SupervisorError.InvalidArgument, $"unknown user: {name}");
    }

    private Task<JobControlReply> Control(JobControlRequest request, Func<Task<JobStatusSnapshot?>> action) => Call(async () =>
    {
        RequestLimits.Check(request.Env, request.Job, request.Instance);
        var snapshot = await action().ConfigureAwait(false);
        return new JobControlReply { Status = snapshot is null ? null : ProtoMapper.ToProto(snapshot) };
    });

    private static string? Instance(bool given, string name) => given ? name : null;

    private static string RequireJob(string job) =>
        string.IsNullOrEmpty(job) ? throw new SupervisorException(SupervisorError.InvalidArgument, "missing job name") : job;

    private static string? OptionalJob(string job) => string.IsNullOrEmpty(job) ? null : job;

    private static async Task<T> Call<T>(Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (SupervisorException e)
        {
            var detail = e.Details.Count == 0 ? e.Message : e.Message + "\n" + string.Join("\n", e.Details);
            throw new RpcException(new Status(ToStatusCode(e.Error), detail));
        }
    }

    private static StatusCode ToStatusCode(SupervisorError error) => error switch
    {
        SupervisorError.UnknownJob or SupervisorError.UnknownInstance => StatusCode.NotFound,
        SupervisorError.AlreadyRunning or SupervisorError.AlreadyStopped or SupervisorError.NotRunning => StatusCode.FailedPrecondition,
        SupervisorError.JobFailedToStart or SupervisorError.JobFailedWhileStopping or SupervisorError.EventFailed => StatusCode.Aborted,
        SupervisorError.InvalidArgument => StatusCode.InvalidArgument,
        SupervisorError.ShuttingDown => StatusCode.Unavailable,
        SupervisorError.CheckFailed => StatusCode.Aborted,
        SupervisorError.CheckRunning => StatusCode.FailedPrecondition,
        SupervisorError.PermissionDenied => StatusCode.PermissionDenied,
        SupervisorError.TooLarge => StatusCode.ResourceExhausted,
        _ => StatusCode.Unknown,
    };
}
