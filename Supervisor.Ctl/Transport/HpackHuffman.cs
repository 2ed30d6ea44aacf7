namespace Supervisor.Ctl.Transport;

/// <summary>
/// Decodes HPACK's Huffman-coded strings (RFC 7541 §5.2, Appendix B). The code is canonical, so the table is kept as
/// its code lengths alone and the codes are rebuilt from them: within a length, codes rise with the symbol, and each
/// length starts where the shorter ones left off. Decoding walks bit by bit (a header string is short and bounded).
/// </summary>
internal static class HpackHuffman
{
    private const int Eos = 256;
    private const int MaxCodeLength = 30;

    // Appendix B's "len" column for symbols 0..255, sixteen to a row; EOS (256) is 30 bits.
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    ];

    // For each length: the first code of that length, how many codes have it, and where its symbols start in Sorted.
    private static readonly int[] FirstCode = new int[MaxCodeLength + 1];
    private static readonly int[] Count = new int[MaxCodeLength + 1];
    private static readonly int[] Offset = new int[MaxCodeLength + 1];
    private static readonly short[] Sorted = new short[257];

    static HpackHuffman()
    {
        for (var symbol = 0; symbol <= Eos; symbol++) Count[LengthOf(symbol)]++;
        int code = 0, offset = 0;
        for (var length = 1; length <= MaxCodeLength; length++)
        {
            code = (code + Count[length - 1]) << 1;
            FirstCode[length] = code;
            Offset[length] = offset;
            offset += Count[length];
        }
        var next = (int[])Offset.Clone();
        for (var symbol = 0; symbol <= Eos; symbol++) Sorted[next[LengthOf(symbol)]++] = (short)symbol;
    }

    private static int LengthOf(int symbol) => symbol == Eos ? MaxCodeLength : Lengths[symbol];

    /// <summary>The code of a symbol, for tests and for the encoder a test needs.</summary>
    public static (int Code, int Length) CodeOf(int symbol)
    {
        var length = LengthOf(symbol);
        var rank = Array.IndexOf(Sorted, (short)symbol, Offset[length], Count[length]) - Offset[length];
        return (FirstCode[length] + rank, length);
    }

    /// <summary>Decodes <paramref name="encoded"/> into at most <paramref name="maxChars"/> bytes (as Latin-1 chars).</summary>
    /// <exception cref="Http2ProtocolException">A code that is not in the table, EOS, bad padding, or too long.</exception>
    public static string Decode(ReadOnlySpan<byte> encoded, int maxChars)
    {
        // A Huffman code is at least 5 bits, so the decoded string is at most 8/5 of the encoded one.
        var output = new char[Math.Min(maxChars, encoded.Length * 8 / 5)];
        int written = 0, code = 0, length = 0;
        foreach (var b in encoded)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                code = (code << 1) | ((b >> bit) & 1);
                length++;
                var rank = code - FirstCode[length];
                if (rank >= 0 && rank < Count[length])
                {
                    var symbol = Sorted[Offset[length] + rank];
                    if (symbol == Eos) throw new Http2ProtocolException("a Huffman-coded string holds EOS");
                    if (written == output.Length) throw new Http2ProtocolException($"a header string longer than {maxChars} bytes");
                    output[written++] = (char)symbol;
                    code = 0;
                    length = 0;
                }
                else if (length == MaxCodeLength)
                {
                    throw new Http2ProtocolException("a Huffman code that is not in the table");
                }
            }
        }
        // The padding is the shortest part of EOS (all ones) that fills the last byte: at most 7 bits.
        if (length > 7 || code != (1 << length) - 1) throw new Http2ProtocolException("bad Huffman padding");
        return new string(output, 0, written);
    }
}
