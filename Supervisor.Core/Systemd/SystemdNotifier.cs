using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Systemd;

/// <summary>
/// sd_notify(3) for supd: one datagram per state message to the socket named by <c>NOTIFY_SOCKET</c> (a path, or
/// <c>@name</c> in the abstract namespace). Sent whenever the variable is set, whatever supd's parent is called:
/// Hosting.Systemd only notifies when the parent process is named systemd, so a wrapper or an exec from a shell would
/// leave a Type=notify unit waiting for READY=1 until its start timeout. Without the variable every call is a no-op.
/// A message that cannot be sent is counted and logged (the first, then every hundredth); supd keeps running.
/// </summary>
public sealed partial class SystemdNotifier : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private long _failures;

    public SystemdNotifier(string? notifySocket, ILogger<SystemdNotifier> log)
    {
        _log = log;
        if (string.IsNullOrEmpty(notifySocket)) return;
        // sd_notify: a leading '@' names an abstract socket, which the kernel spells with a leading NUL.
        _endpoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        SocketPath = notifySocket;
    }

    /// <summary>The socket notifications go to, or null when supd was not started with <c>NOTIFY_SOCKET</c>.</summary>
    public string? SocketPath { get; }

    public bool IsEnabled => _socket is not null;

    /// <summary>Messages that could not be sent.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Start-up is complete (and, after <see cref="Reloading"/>, the reload is).</summary>
    public void Ready() => Send("READY=1");

    /// <summary>
    /// A reload of the configuration begins; <see cref="Ready"/> ends it. systemd (Type=notify-reload, and
    /// ExecReload for Type=notify since v253) wants the CLOCK_MONOTONIC time of the request with it.
    /// </summary>
    public void Reloading() => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}");

    public void Stopping() => Send("STOPPING=1");

    /// <summary>The one-line status systemctl status shows (<c>12 jobs, 11 running, 1 failed</c>).</summary>
    public void Status(string line) => Send("STATUS=" + line.ReplaceLineEndings(" "));

    // Stopwatch reads CLOCK_MONOTONIC on Linux, the clock systemd compares MONOTONIC_USEC with.
    private static long MonotonicMicroseconds() =>
        (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    private void Send(string message)
    {
        if (_socket is null) return;
        var bytes = Encoding.UTF8.GetBytes(message);
        lock (_gate)
        {
            try
            {
                _socket.SendTo(bytes, SocketFlags.None, _endpoint!);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                var failures = Interlocked.Increment(ref _failures);
                if (failures == 1 || failures % 100 == 0)
                    LogSendFailed(message.Split('\n')[0], SocketPath!, e.Message, failures);
            }
        }
    }

    public void Dispose() => _socket?.Dispose();

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "systemd notification {Message} not sent to {Socket}: {Reason} ({Failures} failed so far)")]
    private partial void LogSendFailed(string message, string socket, string reason, long failures);
}
