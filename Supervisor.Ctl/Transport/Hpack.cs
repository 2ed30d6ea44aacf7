using System.Text;

namespace Supervisor.Ctl.Transport;

/// <summary>A connection or stream error in what supd sent; the call fails with it as an INTERNAL status.</summary>
internal sealed class Http2ProtocolException(string message) : Exception(message);

/// <summary>
/// HPACK (RFC 7541) as supctl needs it: a decoder for supd's response header blocks, with the static table, a
/// dynamic table of at most <see cref="MaxTableSize"/> bytes (the default we advertise, never raised) and Huffman
/// strings; and an encoder for request headers that uses neither (every field a literal without indexing).
/// </summary>
internal sealed class HpackDecoder
{
    /// <summary>SETTINGS_HEADER_TABLE_SIZE's default, which supctl keeps: a size update above it is an error.</summary>
    public const int MaxTableSize = 4096;

    private static readonly (string Name, string Value)[] Static =
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

    // Oldest first; HPACK's dynamic index 1 is the newest (the last). At most 4096 / 32 = 128 entries.
    private readonly List<(string Name, string Value)> _dynamic = [];
    private int _dynamicSize;
    private int _maxSize = MaxTableSize;

    /// <summary>
    /// Decodes one complete header block into <paramref name="fields"/>, whose total size (RFC 7540's measure: name,
    /// value and 32 per field) may not pass <paramref name="maxListBytes"/>.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> block, List<(string Name, string Value)> fields, int maxListBytes)
    {
        var listBytes = 0;
        var position = 0;
        var anyField = false;
        while (position < block.Length)
        {
            var first = block[position];
            (string Name, string Value) field;
            if ((first & 0x80) != 0)
            {
                field = Entry(ReadInteger(block, ref position, 7));
            }
            else if ((first & 0x40) != 0)
            {
                field = ReadLiteral(block, ref position, 6, maxListBytes);
                Insert(field);
            }
            else if ((first & 0x20) != 0)
            {
                // A table size update may only open a block (§4.2).
                if (anyField) throw new Http2ProtocolException("a dynamic table size update after a header field");
                var size = ReadInteger(block, ref position, 5);
                if (size > MaxTableSize) throw new Http2ProtocolException($"a dynamic table of {size} bytes (at most {MaxTableSize})");
                _maxSize = size;
                Evict(0);
                continue;
            }
            else
            {
                // Literal without indexing (0000) or never indexed (0001).
                field = ReadLiteral(block, ref position, 4, maxListBytes);
            }
            anyField = true;
            listBytes += field.Name.Length + field.Value.Length + 32;
            if (listBytes > maxListBytes) throw new Http2ProtocolException($"response headers over {maxListBytes} bytes");
            fields.Add(field);
        }
    }

    private (string Name, string Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits, int maxLength)
    {
        var index = ReadInteger(block, ref position, prefixBits);
        var name = index == 0 ? ReadString(block, ref position, maxLength) : Entry(index).Name;
        return (name, ReadString(block, ref position, maxLength));
    }

    private (string Name, string Value) Entry(int index)
    {
        if (index >= 1 && index <= Static.Length) return Static[index - 1];
        var dynamic = index - Static.Length;
        if (index < 1 || dynamic > _dynamic.Count) throw new Http2ProtocolException($"header index {index} is not in the table");
        return _dynamic[_dynamic.Count - dynamic];
    }

    private void Insert((string Name, string Value) field)
    {
        var size = field.Name.Length + field.Value.Length + 32;
        // An entry larger than the table empties it and is not added (§4.4).
        Evict(Math.Min(size, _maxSize + 1));
        if (size > _maxSize) return;
        _dynamic.Add(field);
        _dynamicSize += size;
    }

    // Evicts the oldest entries until `room` more bytes fit.
    private void Evict(int room)
    {
        var drop = 0;
        while (drop < _dynamic.Count && _dynamicSize + room > _maxSize)
        {
            _dynamicSize -= _dynamic[drop].Name.Length + _dynamic[drop].Value.Length + 32;
            drop++;
        }
        _dynamic.RemoveRange(0, drop);
    }

    /// <summary>An HPACK integer with an N-bit prefix (§5.1), refused past 2^24 (no field or table here is larger).</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var mask = (1 << prefixBits) - 1;
        long value = block[position++] & mask;
        if (value < mask) return (int)value;
        // Four continuation bytes carry 28 bits, more than the bound: a fifth is refused before it could shift past
        // what a long holds (a shift count wraps in C#).
        for (var shift = 0; shift <= 21; shift += 7)
        {
            if (position >= block.Length) throw new Http2ProtocolException("a header block ends inside an integer");
            var b = block[position++];
            value += (long)(b & 0x7f) << shift;
            if (value > 1 << 24) break;
            if ((b & 0x80) == 0) return (int)value;
        }
        throw new Http2ProtocolException("an HPACK integer over 2^24");
    }

    private static string ReadString(ReadOnlySpan<byte> block, ref int position, int maxLength)
    {
        if (position >= block.Length) throw new Http2ProtocolException("a header block ends before a string");
        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position) throw new Http2ProtocolException("a header string runs past its block");
        var bytes = block.Slice(position, length);
        position += length;
        if (huffman) return HpackHuffman.Decode(bytes, maxLength);
        if (length > maxLength) throw new Http2ProtocolException($"a header string longer than {maxLength} bytes");
        return Encoding.Latin1.GetString(bytes);
    }
}

/// <summary>Request header fields, each a literal without indexing and without Huffman coding (§6.2.2).</summary>
internal static class HpackEncoder
{
    private const byte MethodPost = 0x83, SchemeHttp = 0x86; // static entries 3 and 6, indexed
    private const int PathName = 4, AuthorityName = 1, ContentTypeName = 31, UserAgentName = 58;

    public static void Request(List<byte> block, string path, string authority, string userAgent,
        IEnumerable<(string Name, string Value)> extra)
    {
        block.Add(MethodPost);
        block.Add(SchemeHttp);
        Indexed(block, PathName, path);
        Indexed(block, AuthorityName, authority);
        Indexed(block, ContentTypeName, "application/grpc");
        Literal(block, "te", "trailers");
        Indexed(block, UserAgentName, userAgent);
        foreach (var (name, value) in extra) Literal(block, name, value);
    }

    private static void Indexed(List<byte> block, int nameIndex, string value)
    {
        WriteInteger(block, 0x00, 4, nameIndex);
        WriteString(block, value);
    }

    private static void Literal(List<byte> block, string name, string value)
    {
        block.Add(0x00);
        WriteString(block, name);
        WriteString(block, value);
    }

    private static void WriteString(List<byte> block, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInteger(block, 0x00, 7, bytes.Length);
        block.AddRange(bytes);
    }

    internal static void WriteInteger(List<byte> block, byte flags, int prefixBits, int value)
    {
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            block.Add((byte)(flags | value));
            return;
        }
        block.Add((byte)(flags | mask));
        value -= mask;
        while (value >= 0x80)
        {
            block.Add((byte)((value & 0x7f) | 0x80));
            value >>= 7;
        }
        block.Add((byte)value);
    }
}
