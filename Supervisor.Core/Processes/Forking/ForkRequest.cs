using System.Buffers.Binary;
using System.Text;

namespace Supervisor.Core.Processes.Forking;

/// <summary>Where a job's stdout and stderr go in a fork-server spawn.</summary>
internal enum ForkOutput : byte
{
    /// <summary>/dev/null, opened by the child.</summary>
    Null = 0,
    /// <summary>An fd that came with the request.</summary>
    Fd = 1,
    /// <summary>stderr only: the same fd as stdout.</summary>
    SameAsOut = 2,
}

/// <summary>
/// One spawn asked of the fork server, as one SOCK_SEQPACKET message: a version byte, where stdout and stderr go, the
/// count of helper words and of environment entries (32-bit, little-endian), then each string NUL-terminated. The
/// helper words are the exec helper's own (<c>--exec-helper OPTIONS -- FILE ARGV…</c>, <see cref="ExecHelperOptions"/>).
/// The fds come with the message in SCM_RIGHTS: the status pipe's write end, then stdout's and stderr's when they are
/// <see cref="ForkOutput.Fd"/>. The answer is one 32-bit number: the job's pid, or minus an errno.
/// </summary>
internal sealed record ForkRequest(IReadOnlyList<string> HelperArguments, IReadOnlyList<string> Environment, ForkOutput Out, ForkOutput Err)
{
    private const byte Version = 1;
    private const int HeaderBytes = 12;

    /// <summary>The fds the message carries besides the status pipe.</summary>
    public int OutputFds => (Out == ForkOutput.Fd ? 1 : 0) + (Err == ForkOutput.Fd ? 1 : 0);

    /// <summary>The message; null when it would pass <see cref="Limits.MaxForkRequestBytes"/> or a string holds a NUL.</summary>
    public byte[]? Encode()
    {
        var size = HeaderBytes;
        foreach (var text in HelperArguments.Concat(Environment))
        {
            if (text.Contains('\0')) return null;
            size += Encoding.UTF8.GetByteCount(text) + 1;
            if (size > Limits.MaxForkRequestBytes) return null;
        }
        var message = new byte[size];
        message[0] = Version;
        message[1] = (byte)Out;
        message[2] = (byte)Err;
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), HelperArguments.Count);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(8), Environment.Count);
        var at = HeaderBytes;
        foreach (var text in HelperArguments.Concat(Environment))
        {
            at += Encoding.UTF8.GetBytes(text, message.AsSpan(at));
            message[at++] = 0;
        }
        return message;
    }

    /// <summary>The request in <paramref name="message"/>; null when it is not one (a count that does not match its strings).</summary>
    public static ForkRequest? Decode(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderBytes || message[0] != Version) return null;
        if (message[1] > (byte)ForkOutput.Fd || message[2] > (byte)ForkOutput.SameAsOut) return null;
        var argumentCount = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        var environmentCount = BinaryPrimitives.ReadInt32LittleEndian(message[8..]);
        // Each string takes at least its NUL: counts past the message's length cannot be right.
        if (argumentCount < 0 || environmentCount < 0 || (long)argumentCount + environmentCount > message.Length - HeaderBytes) return null;
        var strings = new List<string>(argumentCount + environmentCount);
        var rest = message[HeaderBytes..];
        while (rest.Length > 0)
        {
            var end = rest.IndexOf((byte)0);
            if (end < 0) return null;
            strings.Add(Encoding.UTF8.GetString(rest[..end]));
            rest = rest[(end + 1)..];
        }
        if (strings.Count != argumentCount + environmentCount) return null;
        return new ForkRequest(strings[..argumentCount], strings[argumentCount..], (ForkOutput)message[1], (ForkOutput)message[2]);
    }
}
