// HPACK (RFC 7541) for supctl's own HTTP/2 client (H2cCallInvoker). It exists because supctl must start in a few
// milliseconds and HttpClient + SocketsHttpHandler + Grpc.Net.Client cost more than the rest of supctl put together;
// both ends are ours (supd is Kestrel), so only what a gRPC client over h2c needs is here: a complete decoder for
// response header blocks and an encoder that writes literals without indexing.
using System.Text;

namespace Supervisor.Ctl.Connection;

/// <summary>A malformed or unsupported HTTP/2 or HPACK input (a connection error: the connection is unusable).</summary>
internal sealed class Http2ProtocolException(string message) : IOException(message);

/// <summary>
/// Decodes HPACK header blocks: the static table, the dynamic table with its size updates, every literal form and
/// integer encoding. Huffman-coded strings are refused with a clear error instead of decoded: .NET's HPACK encoder,
/// which Kestrel (supd) uses, never Huffman-codes, so supporting it would be code that never runs.
/// </summary>
internal sealed class HPackDecoder
{
    /// <summary>RFC 7541 Appendix A; index 1 is element 0.</summary>
    private static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    public const int DefaultTableSize = 4096;

    // Newest entry first, as HPACK indexes them.
    private readonly List<(string Name, string Value)> _dynamic = [];
    private int _size;
    private int _maxSize = DefaultTableSize;

    /// <summary>
    /// The largest table size the encoder may switch to: our SETTINGS_HEADER_TABLE_SIZE once the peer acknowledged
    /// it, the protocol default before.
    /// </summary>
    public int AllowedMaxSize { get; set; } = DefaultTableSize;

    /// <summary>The current dynamic table size limit (as last set by a size update).</summary>
    public int MaxSize => _maxSize;

    /// <summary>The dynamic table's size in RFC 7541 §4.1 octets.</summary>
    public int Size => _size;

    public void Decode(ReadOnlySpan<byte> block, List<KeyValuePair<string, string>> headers)
    {
        var position = 0;
        var fieldSeen = false;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0x80) != 0)
            {
                // Indexed header field (§6.1).
                var index = ReadInteger(block, ref position, 7);
                var (name, value) = Lookup(index);
                headers.Add(new(name, value));
                fieldSeen = true;
            }
            else if ((first & 0xC0) == 0x40)
            {
                // Literal with incremental indexing (§6.2.1).
                var (name, value) = ReadLiteral(block, ref position, 6);
                headers.Add(new(name, value));
                Add(name, value);
                fieldSeen = true;
            }
            else if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (§6.3): only at the start of a header block (§4.2).
                if (fieldSeen) throw new Http2ProtocolException("HPACK dynamic table size update after a header field");
                var newSize = ReadInteger(block, ref position, 5);
                if (newSize > AllowedMaxSize)
                    throw new Http2ProtocolException($"HPACK dynamic table size update to {newSize} exceeds the allowed {AllowedMaxSize}");
                _maxSize = newSize;
                Evict(0);
            }
            else
            {
                // Literal without indexing (0000xxxx) or never indexed (0001xxxx) (§6.2.2, §6.2.3).
                var (name, value) = ReadLiteral(block, ref position, 4);
                headers.Add(new(name, value));
                fieldSeen = true;
            }
        }
    }

    private (string Name, string Value) Lookup(int index)
    {
        if (index <= 0) throw new Http2ProtocolException("HPACK index 0");
        if (index <= StaticTable.Length) return StaticTable[index - 1];
        var dynamicIndex = index - StaticTable.Length - 1;
        if (dynamicIndex >= _dynamic.Count) throw new Http2ProtocolException($"HPACK index {index} is outside the tables");
        return _dynamic[dynamicIndex];
    }

    private (string Name, string Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var nameIndex = ReadInteger(block, ref position, prefixBits);
        var name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Name;
        var value = ReadString(block, ref position);
        return (name, value);
    }

    private void Add(string name, string value)
    {
        var entrySize = EntrySize(name, value);
        if (entrySize > _maxSize)
        {
            // §4.4: an entry larger than the table empties it and is not added.
            _dynamic.Clear();
            _size = 0;
            return;
        }
        Evict(entrySize);
        _dynamic.Insert(0, (name, value));
        _size += entrySize;
    }

    // Drops the oldest entries until `room` more octets fit under the limit.
    private void Evict(int room)
    {
        while (_dynamic.Count > 0 && _size + room > _maxSize)
        {
            var (name, value) = _dynamic[^1];
            _dynamic.RemoveAt(_dynamic.Count - 1);
            _size -= EntrySize(name, value);
        }
    }

    // Header strings are octets; Latin-1 maps each to one char, so lengths (and sizes) are the octet counts.
    private static int EntrySize(string name, string value) => name.Length + value.Length + 32;

    private static string ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length) throw new Http2ProtocolException("HPACK string truncated");
        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position) throw new Http2ProtocolException("HPACK string truncated");
        if (huffman)
            throw new Http2ProtocolException("HPACK Huffman-coded header strings are not supported (supd never sends them)");
        var text = Encoding.Latin1.GetString(block.Slice(position, length));
        position += length;
        return text;
    }

    /// <summary>An HPACK integer (§5.1) with an N-bit prefix; the flag bits above the prefix are ignored.</summary>
    public static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        if (position >= block.Length) throw new Http2ProtocolException("HPACK integer truncated");
        var mask = (1 << prefixBits) - 1;
        var value = block[position++] & mask;
        if (value < mask) return value;
        var shift = 0;
        while (true)
        {
            if (position >= block.Length) throw new Http2ProtocolException("HPACK integer truncated");
            var b = block[position++];
            if (shift > 28) throw new Http2ProtocolException("HPACK integer too large");
            long next = value + ((long)(b & 0x7F) << shift);
            if (next > int.MaxValue) throw new Http2ProtocolException("HPACK integer too large");
            value = (int)next;
            shift += 7;
            if ((b & 0x80) == 0) return value;
        }
    }
}

/// <summary>Writes request header fields as HPACK literals without indexing and without Huffman coding.</summary>
internal static class HPackEncoder
{
    /// <summary>An indexed field from the static table (never touches the dynamic table).</summary>
    public static void WriteIndexed(List<byte> output, int staticIndex) => WriteInteger(output, 0x80, 7, staticIndex);

    /// <summary>Literal without indexing, the name taken from the static table.</summary>
    public static void WriteLiteral(List<byte> output, int staticNameIndex, string value)
    {
        WriteInteger(output, 0x00, 4, staticNameIndex);
        WriteString(output, value);
    }

    /// <summary>Literal without indexing with a literal name.</summary>
    public static void WriteLiteral(List<byte> output, string name, string value)
    {
        output.Add(0x00);
        WriteString(output, name);
        WriteString(output, value);
    }

    private static void WriteString(List<byte> output, string value)
    {
        var bytes = Encoding.Latin1.GetBytes(value);
        WriteInteger(output, 0x00, 7, bytes.Length);
        output.AddRange(bytes);
    }

    /// <summary>An HPACK integer (§5.1): `flags` fills the bits above the N-bit prefix.</summary>
    public static void WriteInteger(List<byte> output, byte flags, int prefixBits, int value)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            output.Add((byte)(flags | value));
            return;
        }
        output.Add((byte)(flags | mask));
        value -= mask;
        while (value >= 0x80)
        {
            output.Add((byte)((value & 0x7F) | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }
}
