using System.Net.Sockets;
using System.Text;

namespace Supervisor.Tests.Core.Systemd;

/// <summary>
/// Stands in for systemd's notify socket: a Unix datagram socket (a file in a temp dir, or an abstract name) that
/// collects what supd sends. <see cref="Address"/> is what NOTIFY_SOCKET would hold.
/// </summary>
internal sealed class FakeNotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string? _directory;

    public FakeNotifySocket(bool abstractName = false)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        if (abstractName)
        {
            Address = "@supd-test-notify-" + id;
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + Address[1..]));
        }
        else
        {
            _directory = Path.Combine("/tmp", "supd-n-" + id);
            Directory.CreateDirectory(_directory);
            Address = Path.Combine(_directory, "notify.sock");
            _socket.Bind(new UnixDomainSocketEndPoint(Address));
        }
    }

    public string Address { get; }

    public List<string> Received { get; } = [];

    /// <summary>The next datagram, or null if none arrives within <paramref name="timeout"/>.</summary>
    public async Task<string?> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var count = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            var message = Encoding.UTF8.GetString(buffer, 0, count);
            lock (Received) Received.Add(message);
            return message;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Receives until a datagram matches, within a generous bound; fails the test with what did arrive.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var message = await ReceiveAsync(deadline - DateTime.UtcNow);
            if (message is not null && match(message)) return message;
        }
        lock (Received)
            throw new TimeoutException($"no notification {what}; received: [{string.Join(" | ", Received)}]");
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }
}
