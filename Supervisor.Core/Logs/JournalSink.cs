using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Supervisor.Core.Logs;

/// <summary>
/// journald's native protocol (systemd's <c>sd_journal_send</c> without libsystemd): one datagram per entry on
/// journald's socket, <c>KEY=VALUE\n</c> per field, or <c>KEY\n</c>, the value's length (64-bit little endian), the value
/// and <c>\n</c> for a value that may hold a newline (MESSAGE always: job output is bytes). Never blocks its callers
/// (the output pumps, the logger): an entry goes to a bounded queue (<see cref="MaxQueued"/>) that one task sends from
/// as journald takes them; when the queue is full (journald slower than the jobs) or journald refuses (not running),
/// the entry is dropped and counted, with one warning per episode. The queue rides out bursts: a datagram socket's
/// own queue is short (<c>net.unix.max_dgram_qlen</c>: 10 by default, 512 under systemd). Entries are small by construction (a job line is passed on in pieces of
/// <see cref="JobOutputWriter.MaxMirrorLine"/>; supd's own lines are cut at <see cref="MaxMessageBytes"/>), far below
/// a datagram's limit, so the memfd way for large entries is not needed.
/// </summary>
public sealed partial class JournalSink : IDisposable
{
    /// <summary>journald's native socket.</summary>
    public const string DefaultSocket = "/run/systemd/journal/socket";

    /// <summary>The longest MESSAGE sent; longer (only supd's own lines can be) is cut with <c>…[N bytes cut]</c>.</summary>
    public const int MaxMessageBytes = JobOutputWriter.MaxMirrorLine;

    /// <summary>Entries waiting to be sent; one more is dropped (at most this many × ~16 KiB held).</summary>
    public const int MaxQueued = 512;

    /// <summary>syslog priorities (journald's PRIORITY field).</summary>
    public const int Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7;

    private readonly Socket _socket;
    private readonly SocketAddress _address;
    private readonly ILogger _log;
    private long _dropped;
    private long _sent;
    private int _failing;
    private readonly System.Threading.Channels.Channel<byte[]> _queue =
        System.Threading.Channels.Channel.CreateBounded<byte[]>(new System.Threading.Channels.BoundedChannelOptions(MaxQueued) { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _sending;

    public JournalSink(string path, ILogger<JournalSink> log)
    {
        Path = path;
        _log = log;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _address = new UnixDomainSocketEndPoint(path).Serialize();
        _sending = Task.Run(SendAsync);
    }

    public string Path { get; }

    /// <summary>Entries journald could not take (dropped), since supd started.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Entries sent, since supd started.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>One line of a job's output: SYSLOG_IDENTIFIER and SUPD_JOB are the job, SUPD_INSTANCE its instance.</summary>
    public void JobLine(byte[] job, byte[] instance, int priority, ReadOnlySpan<byte> message) =>
        Send(priority, job, job, instance, message);

    /// <summary>One line of supd's own log (SYSLOG_IDENTIFIER=supd).</summary>
    public void SupdLine(int priority, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        if (bytes.Length <= MaxMessageBytes)
        {
            Send(priority, Supd, null, null, bytes);
            return;
        }
        var cut = Encoding.UTF8.GetBytes($"…[{bytes.Length - MaxMessageBytes} bytes cut]");
        var head = bytes.AsSpan(0, MaxMessageBytes);
        while (head.Length > 0 && (head[^1] & 0xC0) == 0x80) head = head[..^1]; // not inside a UTF-8 character
        Send(priority, Supd, null, null, [.. head, .. cut]);
    }

    private static readonly byte[] Supd = "supd"u8.ToArray();

    private void Send(int priority, byte[] identifier, byte[]? job, byte[]? instance, ReadOnlySpan<byte> message)
    {
        var length = 64 + identifier.Length + (job?.Length ?? 0) + (instance?.Length ?? 0) + message.Length + 4 * 9;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var at = 0;
            Field(buffer, ref at, "PRIORITY"u8, [(byte)('0' + priority)]);
            Field(buffer, ref at, "SYSLOG_IDENTIFIER"u8, identifier);
            if (job is not null) Field(buffer, ref at, "SUPD_JOB"u8, job);
            if (instance is not null) Field(buffer, ref at, "SUPD_INSTANCE"u8, instance);
            Binary(buffer, ref at, "MESSAGE"u8, message);
            if (!_queue.Writer.TryWrite(buffer.AsSpan(0, at).ToArray())) Drop("its queue is full");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // One at a time, as journald takes them: the socket is non-blocking, so a full socket queue is awaited (epoll),
    // not slept on; a refusal (journald not running, the socket gone) drops the entry.
    private async Task SendAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_closing.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var entry))
                {
                    try
                    {
                        await _socket.SendToAsync(entry, SocketFlags.None, _address, _closing.Token).ConfigureAwait(false);
                        Interlocked.Increment(ref _sent);
                        if (Interlocked.Exchange(ref _failing, 0) == 1) LogRecovered(Path, Dropped);
                    }
                    catch (SocketException e)
                    {
                        Drop(e.SocketErrorCode.ToString());
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private void Drop(string reason)
    {
        Interlocked.Increment(ref _dropped);
        if (Interlocked.Exchange(ref _failing, 1) == 0) LogFailing(Path, reason);
    }

    // KEY=VALUE\n, or the binary form when the value holds a newline (a name cannot be trusted not to).
    private static void Field(byte[] buffer, ref int at, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (value.Contains((byte)'\n'))
        {
            Binary(buffer, ref at, key, value);
            return;
        }
        key.CopyTo(buffer.AsSpan(at));
        at += key.Length;
        buffer[at++] = (byte)'=';
        value.CopyTo(buffer.AsSpan(at));
        at += value.Length;
        buffer[at++] = (byte)'\n';
    }

    private static void Binary(byte[] buffer, ref int at, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        key.CopyTo(buffer.AsSpan(at));
        at += key.Length;
        buffer[at++] = (byte)'\n';
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(at), (ulong)value.Length);
        at += 8;
        value.CopyTo(buffer.AsSpan(at));
        at += value.Length;
        buffer[at++] = (byte)'\n';
    }

    /// <summary>Sends what is queued (for at most a second: supd's last lines), then closes the socket.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        try
        {
            _sending.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
        }
        _closing.Cancel();
        _socket.Dispose();
        _closing.Dispose();
    }

    // Not through the journal itself when it is the journal that fails: these go to stderr and supd.log too.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot send log lines to the journal at {Path} ({Reason}); dropping them (counted) until it takes them again")]
    private partial void LogFailing(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The journal at {Path} takes log lines again; {Dropped} were dropped since supd started")]
    private partial void LogRecovered(string path, long dropped);
}
