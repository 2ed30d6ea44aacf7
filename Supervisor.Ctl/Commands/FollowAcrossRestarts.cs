using Grpc.Core;
using Supervisor.Protocol;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// A follower (<c>events -f</c>, <c>log -f</c>) outlives supd's re-exec: the exec ends the stream, so once supd
/// answers again (up to <see cref="ReconnectTimeout"/>) the follower asks anew for what comes next, and says on stderr
/// that what happened in between is not shown. A stream supd ends itself (its shutdown) ends the follower as before.
/// </summary>
internal static class FollowAcrossRestarts
{
    public static readonly TimeSpan ReconnectTimeout = TimeSpan.FromSeconds(60);

    /// <param name="start">Starts the call; its argument is true for a call after a reconnect (ask only for what is new).</param>
    public static async IAsyncEnumerable<T> ReadAsync<T>(ProtoClient client, Output output, bool follow,
        Func<bool, AsyncServerStreamingCall<T>> start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var again = false;
        while (true)
        {
            var broken = false;
            using (var call = start(again))
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await call.ResponseStream.MoveNext(ct).ConfigureAwait(false);
                    }
                    catch (RpcException e) when (follow && e.StatusCode is StatusCode.Unavailable or StatusCode.Internal && !ct.IsCancellationRequested)
                    {
                        more = false;
                        broken = true;
                    }
                    if (!more) break;
                    yield return call.ResponseStream.Current;
                }
            }
            if (!broken) yield break;
            if (!await AnswersAgainAsync(client, ct).ConfigureAwait(false))
                throw new RpcException(new Status(StatusCode.Unavailable, $"supd went away and did not come back within {ReconnectTimeout.TotalSeconds:0}s"));
            output.Error("supd was re-executed or restarted; following again (what happened in between is not shown)");
            again = true;
        }
    }

    private static async Task<bool> AnswersAgainAsync(ProtoClient client, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < ReconnectTimeout)
        {
            try
            {
                await client.VersionAsync(new VersionRequest(), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
        return false;
    }
}
