using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Connections.Features;
using Supervisor.Core.Access;
using Supervisor.Protocol;

namespace Supervisor.Daemon.Access;

/// <summary>
/// Every RPC passes here first: the caller captured by <see cref="PeerCredentials"/>, the verb the method is, the job
/// it names, one <see cref="AccessPolicy.Decide"/>. A refusal is <see cref="StatusCode.PermissionDenied"/> with the
/// line supctl prints, and an audit line (Warning); every allowed control or admin request gets one at Debug.
/// </summary>
public sealed class AccessInterceptor(AccessPolicy policy, ILogger<AccessInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request, context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request, context);
        return continuation(request, responseStream, context);
    }

    /// <summary>The caller of this call, as the kernel reported the connection's peer.</summary>
    public static Caller? CallerOf(ServerCallContext context) =>
        context.GetHttpContext().Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(PeerCredentials.ItemKey, out var caller) == true
            ? caller as Caller
            : null;

    private void Check(object request, ServerCallContext context)
    {
        var verb = Verb(context.Method);
        var job = Job(request);
        var caller = CallerOf(context);
        if (caller is null)
        {
            // Cannot happen on the Unix socket; if it ever does, nobody is trusted.
            logger.LogWarning("access: denied {Verb}{Job} to an unknown caller: no peer credentials", verb, On(job));
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"permission denied: unknown caller may not {verb}{On(job)}"));
        }

        var decision = policy.Decide(caller, verb, job);
        var needs = AccessVerbs.Name(decision.Right);
        if (!decision.Allowed)
        {
            logger.LogWarning("access: denied {Verb}{Job} to {Caller}: needs {Right}, {Rule}", verb, On(job), caller.Describe(), needs, decision.DecidedBy);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"permission denied: {caller.Name} may not {verb}{On(job)} (needs {needs})"));
        }
        if (decision.Right != AccessRight.Read)
            logger.LogDebug("access: allowed {Verb}{Job} to {Caller}: {Right} by {Rule}", verb, On(job), caller.Describe(), needs, decision.DecidedBy);
    }

    private static string On(string? job) => string.IsNullOrEmpty(job) ? "" : " " + job;

    /// <summary>"/supd.v1.Supervisor/ReloadConfiguration" → "reload-configuration"; the names supctl's verbs have.</summary>
    public static string Verb(string method) => method[(method.LastIndexOf('/') + 1)..] switch
    {
        "List" => "list",
        "Status" => "status",
        "Start" => "start",
        "Stop" => "stop",
        "Restart" => "restart",
        "Reload" => "reload",
        "Disable" => "disable",
        "Enable" => "enable",
        "Emit" => "emit",
        "ReloadConfiguration" => "reload-configuration",
        "ReopenLogs" => "reopen-logs",
        "CheckConfig" => "check-config",
        "ShowConfig" => "show-config",
        "WatchEvents" => "events",
        "TailLog" => "log",
        "Version" => "version",
        "Access" => "access",
        var other => other, // unknown to the policy: needs admin
    };

    /// <summary>The job a request names (emit names an event, not a job).</summary>
    private static string? Job(object request) => request switch
    {
        JobControlRequest r => r.Job,
        StatusRequest r => r.Job,
        ShowConfigRequest r => r.Job,
        CheckConfigRequest r => r.Job,
        WatchEventsRequest r => r.Job,
        TailLogRequest r => r.Job,
        EmitRequest r => r.Event,
        _ => null,
    };
}
