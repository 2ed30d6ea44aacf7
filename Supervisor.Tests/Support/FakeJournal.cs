using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Supervisor.Tests.Support;

/// <summary>
/// A stand-in for journald's native socket: a datagram socket in a temp dir whose entries are parsed as journald
/// parses them (KEY=VALUE lines, or KEY, a 64-bit little-endian length, the value and a newline).
/// </summary>
public sealed class FakeJournal : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly List<IReadOnlyDictionary<string, string>> _entries = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _reading;

    /// <param name="read">False: nothing is ever read, so the socket's queue fills (journald too slow).</param>
    public FakeJournal(string directory, bool read = true)
    {
        Path = System.IO.Path.Combine(directory, "journal.socket");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        if (read) _reading = Task.Run(ReadAsync);
    }

    public string Path { get; }

    public IReadOnlyList<IReadOnlyDictionary<string, string>> Entries
    {
        get { lock (_entries) return _entries.ToList(); }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[256 * 1024];
        while (!_stop.IsCancellationRequested)
        {
            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var entry = Parse(buffer.AsSpan(0, read));
            lock (_entries) _entries.Add(entry);
        }
    }

    public static Dictionary<string, string> Parse(ReadOnlySpan<byte> datagram)
    {
        var fields = new Dictionary<string, string>();
        while (!datagram.IsEmpty)
        {
            var newline = datagram.IndexOf((byte)'\n');
            if (newline < 0) throw new FormatException("an entry's last field has no newline");
            var line = datagram[..newline];
            var equals = line.IndexOf((byte)'=');
            if (equals >= 0)
            {
                fields[Encoding.UTF8.GetString(line[..equals])] = Encoding.UTF8.GetString(line[(equals + 1)..]);
                datagram = datagram[(newline + 1)..];
                continue;
            }
            var key = Encoding.UTF8.GetString(line);
            datagram = datagram[(newline + 1)..];
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(datagram));
            fields[key] = Encoding.UTF8.GetString(datagram.Slice(8, length));
            if (datagram[8 + length] != (byte)'\n') throw new FormatException($"{key}'s value is not followed by a newline");
            datagram = datagram[(8 + length + 1)..];
        }
        return fields;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { _reading?.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
