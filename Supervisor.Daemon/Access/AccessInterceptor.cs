using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Connections.Features;
using Supervisor.Core.Access;
using Supervisor.Protocol;

namespace Supervisor.Daemon.Access;

/// <summary>
/// Every RPC passes here first: the caller captured by <see cref="PeerCredentials"/>, the verb the method is and the
/// right it needs (<see cref="MethodAccess"/>, the method's options in the proto), the job it names, one
/// <see cref="AccessPolicy.Decide"/>. A refusal is <see cref="StatusCode.PermissionDenied"/> with the
/// line supctl prints, and an audit line (Warning); every allowed control or admin request gets one at Debug.
/// </summary>
public sealed class AccessInterceptor(AccessPolicy policy, RequestCounters counters, ILogger<AccessInterceptor> logger) : Interceptor
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
        var (verb, right) = MethodAccess.For(context.Method);
        var (job, subject) = Target(request);
        var caller = CallerOf(context);
        if (caller is null)
        {
            // Cannot happen on the Unix socket; if it ever does, nobody is trusted.
            counters.Denied(verb);
            logger.LogWarning("access: denied {Verb}{Job} to an unknown caller: no peer credentials", verb, On(subject));
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"permission denied: unknown caller may not {verb}{On(subject)}"));
        }

        var decision = policy.Decide(caller, right, job);
        var needs = AccessRights.Name(decision.Right);
        if (!decision.Allowed)
        {
            counters.Denied(verb);
            logger.LogWarning("access: denied {Verb}{Job} to {Caller}: needs {Right}, {Rule}", verb, On(subject), caller.Describe(), needs, decision.DecidedBy);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"permission denied: {caller.Name} may not {verb}{On(subject)} (needs {needs})"));
        }
        counters.Served(verb);
        if (decision.Right != AccessRight.Read)
            logger.LogDebug("access: allowed {Verb}{Job} to {Caller}: {Right} by {Rule}", verb, On(subject), caller.Describe(), needs, decision.DecidedBy);
    }

    private static string On(string? job) => string.IsNullOrEmpty(job) ? "" : " " + job;

    /// <summary>
    /// The job a request names, which the rules' job patterns are matched against, and what the messages name. emit
    /// names an event: it is never job-specific (it needs its right daemon-wide), but the refusal says which event.
    /// </summary>
    private static (string? Job, string? Subject) Target(object request) => request switch
    {
        JobControlRequest r => (r.Job, r.Job),
        StatusRequest r => (r.Job, r.Job),
        ShowConfigRequest r => (r.Job, r.Job),
        CheckConfigRequest r => (r.Job, r.Job),
        WatchEventsRequest r => (r.Job, r.Job),
        TailLogRequest r => (r.Job, r.Job),
        EmitRequest r => (null, r.Event),
        _ => (null, null),
    };
}
