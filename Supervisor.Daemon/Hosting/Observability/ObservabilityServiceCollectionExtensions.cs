using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Supervisor.Core;

namespace Supervisor.Daemon.Hosting;

public static class ObservabilityServiceCollectionExtensions
{
    /// <summary>
    /// The opt-in HTTP listener (<see cref="HttpListenerOptions"/>): a second Kestrel endpoint, TCP, HTTP/1.1 only, that
    /// serves /metrics (<see cref="SupdMetrics"/>) and the status page (<see cref="StatusPage"/>), nothing else of supd: its requests take their own pipeline
    /// (<see cref="MapObservability"/>), so the gRPC control API is not reachable on it. At most
    /// <see cref="Limits.MaxHttpConnections"/> connections at once (<see cref="HttpConnectionGate"/>). Without
    /// <c>Http:Listen</c> nothing listens. Needs <c>AddSupervisorCore</c>, <c>AddControlSocket</c> and <c>AddContainment</c> (CPU and memory).
    /// </summary>
    public static IServiceCollection AddHttpListener(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupdOptions<HttpListenerOptions, HttpListenerOptionsValidator>(o => o.Bind(configuration.GetSection(HttpListenerOptions.Section)));
        services.AddSingleton<SupdMetrics>();
        services.AddSingleton<StatusPage>();
        services.AddSingleton<HttpConnectionGate>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpListenerOptions>, HttpConnectionGate>((kestrel, options, gate) =>
        {
            if (options.Value.ParseListen() is not { } endpoint) return;
            kestrel.Listen(endpoint, listen =>
            {
                // HTTP/1.1 only: Prometheus and browsers speak it; a gRPC client (HTTP/2) cannot even start a call here.
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(gate.Middleware);
            });
        });
        services.AddSingleton<HttpListenerLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpListenerLifecycle>());
        return services;
    }

    /// <summary>
    /// The HTTP listener's own pipeline, branched off before anything else: a request on one of its connections never
    /// reaches the gRPC endpoints. GET (and HEAD) only: <c>/metrics</c> and the status page at <c>/</c> (<see cref="StatusPage"/>); anything else is 404.
    /// </summary>
    public static IApplicationBuilder MapObservability(this IApplicationBuilder app) =>
        app.MapWhen(HttpConnectionGate.IsHttpListener, branch => branch.Run(async context =>
        {
            var request = context.Request;
            var response = context.Response;
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                response.Headers.Allow = "GET, HEAD";
                return;
            }
            response.Headers.CacheControl = "no-store";
            response.Headers.XContentTypeOptions = "nosniff";
            switch (request.Path.Value)
            {
                case "/metrics":
                    response.ContentType = SupdMetrics.ContentType;
                    await context.RequestServices.GetRequiredService<SupdMetrics>()
                        .WriteAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
                    break;
                case "/":
                    response.ContentType = "text/html; charset=utf-8";
                    response.Headers.ContentSecurityPolicy = StatusPage.ContentSecurityPolicy;
                    response.Headers.XFrameOptions = "DENY";
                    var page = await context.RequestServices.GetRequiredService<StatusPage>().RenderAsync().ConfigureAwait(false);
                    await response.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
                    break;
                default:
                    response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }));
}

/// <summary>
/// The HTTP listener's connection middleware: marks its connections (so the pipeline branches on them) and holds them
/// to <see cref="Limits.MaxHttpConnections"/> at once; one more is closed at once and counted.
/// </summary>
public sealed partial class HttpConnectionGate(ILogger<HttpConnectionGate> log)
{
    private const string ItemKey = "supd.http-listener";
    private int _open;
    private long _refused;

    public long Refused => Interlocked.Read(ref _refused);

    public static bool IsHttpListener(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ItemKey) == true;

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > Limits.MaxHttpConnections)
        {
            Interlocked.Decrement(ref _open);
            var refused = Interlocked.Increment(ref _refused);
            if (refused == 1 || refused % 1000 == 0) LogRefused(Limits.MaxHttpConnections, refused);
            return; // returning without the next middleware closes the connection
        }
        try
        {
            connection.Items[ItemKey] = true;
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an HTTP connection: {Max} are open, the most the HTTP listener accepts ({Count} refused since supd started)")]
    private partial void LogRefused(int max, long count);
}

/// <summary>The HTTP listener's part in the host's lifecycle: once Kestrel listens, the address it took (port 0: the one chosen).</summary>
public sealed partial class HttpListenerLifecycle(IOptions<HttpListenerOptions> options, IServer server, SupdMetrics metrics,
    ILogger<HttpListenerLifecycle> log) : HostLifecycleStep
{
    // Created before the loop loads the jobs, so every event from the first one on is counted.
    public override Task StartingAsync(CancellationToken cancellationToken)
    {
        _ = metrics;
        return Task.CompletedTask;
    }

    public override Task StartedAsync(CancellationToken cancellationToken)
    {
        if (options.Value.ParseListen() is null) return Task.CompletedTask;
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses.Where(a => !a.StartsWith("http://unix:", StringComparison.Ordinal)))
            LogListening(address);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP listener on {Address}: /metrics, status page at /")]
    private partial void LogListening(string address);
}
