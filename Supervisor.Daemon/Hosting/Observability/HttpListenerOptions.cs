using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace Supervisor.Daemon.Hosting;

/// <summary>
/// The HTTP listener for /metrics and the status page (<c>Http:Listen</c> in supd.json, <c>SUPD_HTTP__LISTEN</c>,
/// <c>--http</c>). Off unless set. It serves only read-only views: the control API stays on the Unix socket.
/// </summary>
public sealed class HttpListenerOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string Section = "Http";

    /// <summary>
    /// <c>ADDRESS:PORT</c> (<c>127.0.0.1:9337</c>, <c>[::1]:9337</c>, <c>0.0.0.0:9337</c>), <c>localhost:PORT</c>, or a
    /// bare <c>PORT</c>, which means loopback: another address is used only when the operator names it. Port 0 takes a
    /// free port (supd logs which). Not set: no listener.
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>The address to listen on; null when the listener is off. A malformed value is a <see cref="StartupException"/>.</summary>
    public IPEndPoint? ParseListen()
    {
        if (string.IsNullOrWhiteSpace(Listen)) return null;
        var text = Listen.Trim();
        if (TryPort(text, out var port)) return new IPEndPoint(IPAddress.Loopback, port);
        var colon = text.LastIndexOf(':');
        if (colon > 0 && text[..colon].Equals("localhost", StringComparison.OrdinalIgnoreCase) && TryPort(text[(colon + 1)..], out port))
            return new IPEndPoint(IPAddress.Loopback, port);
        // An IP literal only: a host name would make where supd listens depend on the resolver at start-up.
        // An IPv6 address in brackets ([::1]:9337), so that "::1" is not read as port 1 of "::".
        if (IPEndPoint.TryParse(text, out var endpoint) && colon > 0 && TryPort(text[(colon + 1)..], out _) &&
            (endpoint.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || text.StartsWith('[')))
            return endpoint;
        throw new StartupException($"Http:Listen is not ADDRESS:PORT, localhost:PORT or PORT (an IP address, port 0-65535): {Listen}");
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= IPEndPoint.MaxPort;
}

public sealed class HttpListenerOptionsValidator : IValidateOptions<HttpListenerOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpListenerOptions options) =>
        SupdOptionsRegistration.Check(() => options.ParseListen());
}
