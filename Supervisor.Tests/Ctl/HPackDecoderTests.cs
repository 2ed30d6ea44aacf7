using NUnit.Framework;
using Supervisor.Ctl.Connection;

namespace Supervisor.Tests.Ctl;

/// <summary>supctl's HPACK decoder (linked from Supervisor.Ctl) against RFC 7541's own examples (Appendix C).</summary>
[TestFixture]
public sealed class HPackDecoderTests
{
    private static List<KeyValuePair<string, string>> Decode(HPackDecoder decoder, string hex)
    {
        var headers = new List<KeyValuePair<string, string>>();
        decoder.Decode(Convert.FromHexString(hex.Replace(" ", "")), headers);
        return headers;
    }

    private static KeyValuePair<string, string> H(string name, string value) => new(name, value);

    [Test]
    public void Integers_with_prefixes_decode_as_in_C_1()
    {
        var position = 0;
        Assert.That(HPackDecoder.ReadInteger([0b1110_1010], ref position, 5), Is.EqualTo(10), "C.1.1: 10, 5-bit prefix (flag bits ignored)");
        position = 0;
        Assert.That(HPackDecoder.ReadInteger([0x1f, 0x9a, 0x0a], ref position, 5), Is.EqualTo(1337), "C.1.2");
        Assert.That(position, Is.EqualTo(3));
        position = 0;
        Assert.That(HPackDecoder.ReadInteger([0x2a], ref position, 8), Is.EqualTo(42), "C.1.3");
        position = 0;
        Assert.Throws<Http2ProtocolException>(() => HPackDecoder.ReadInteger([0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], ref position, 5));
    }

    [Test]
    public void Encoded_integers_round_trip()
    {
        foreach (var value in new[] { 0, 14, 15, 16, 127, 128, 1337, 65535, int.MaxValue - 15 })
        {
            var bytes = new List<byte>();
            HPackEncoder.WriteInteger(bytes, 0x00, 4, value);
            var position = 0;
            Assert.That(HPackDecoder.ReadInteger(bytes.ToArray(), ref position, 4), Is.EqualTo(value));
            Assert.That(position, Is.EqualTo(bytes.Count));
        }
    }

    [Test]
    public void Requests_without_Huffman_fill_the_dynamic_table_as_in_C_3()
    {
        var decoder = new HPackDecoder();
        Assert.That(Decode(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), Is.EqualTo(new[]
        {
            H(":method", "GET"), H(":scheme", "http"), H(":path", "/"), H(":authority", "www.example.com"),
        }));
        Assert.That(decoder.Size, Is.EqualTo(57));

        Assert.That(Decode(decoder, "8286 84be 5808 6e6f 2d63 6163 6865"), Is.EqualTo(new[]
        {
            H(":method", "GET"), H(":scheme", "http"), H(":path", "/"), H(":authority", "www.example.com"), H("cache-control", "no-cache"),
        }));
        Assert.That(decoder.Size, Is.EqualTo(110));

        Assert.That(Decode(decoder, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"), Is.EqualTo(new[]
        {
            H(":method", "GET"), H(":scheme", "https"), H(":path", "/index.html"), H(":authority", "www.example.com"), H("custom-key", "custom-value"),
        }));
        Assert.That(decoder.Size, Is.EqualTo(164));
    }

    [Test]
    public void Responses_evict_the_oldest_entries_as_in_C_5()
    {
        var decoder = new HPackDecoder();
        // C.5 runs with a 256-octet table: announce it with a size update (3fe101 = 256) before the first block.
        Assert.That(Decode(decoder,
            "3fe101 4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
            Is.EqualTo(new[]
            {
                H(":status", "302"), H("cache-control", "private"), H("date", "Mon, 21 Oct 2013 20:13:21 GMT"), H("location", "https://www.example.com"),
            }));
        Assert.That((decoder.MaxSize, decoder.Size), Is.EqualTo((256, 222)));

        // ":status 307" evicts ":status 302"; the other three are referenced by index.
        Assert.That(Decode(decoder, "4803 3330 37c1 c0bf"), Is.EqualTo(new[]
        {
            H(":status", "307"), H("cache-control", "private"), H("date", "Mon, 21 Oct 2013 20:13:21 GMT"), H("location", "https://www.example.com"),
        }));
        Assert.That(decoder.Size, Is.EqualTo(222));

        Assert.That(Decode(decoder,
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31"),
            Is.EqualTo(new[]
            {
                H(":status", "200"), H("cache-control", "private"), H("date", "Mon, 21 Oct 2013 20:13:22 GMT"), H("location", "https://www.example.com"),
                H("content-encoding", "gzip"), H("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
            }));
        Assert.That(decoder.Size, Is.EqualTo(215));
    }

    [Test]
    public void A_size_update_to_zero_empties_the_table_and_later_indexing_adds_nothing()
    {
        var decoder = new HPackDecoder();
        Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65");
        Assert.That(decoder.Size, Is.EqualTo(54));
        decoder.AllowedMaxSize = 0;
        Assert.That(Decode(decoder, "20 88"), Is.EqualTo(new[] { H(":status", "200") }));
        Assert.That((decoder.MaxSize, decoder.Size), Is.EqualTo((0, 0)));
        Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "be"), "index 62 is gone");
        // With a zero-size table an incrementally indexed literal is still a header, just not remembered.
        Assert.That(Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"), Is.EqualTo(new[] { H("custom-key", "custom-value") }));
        Assert.That(decoder.Size, Is.EqualTo(0));
    }

    [Test]
    public void Invalid_blocks_are_refused()
    {
        var decoder = new HPackDecoder { AllowedMaxSize = 0 };
        Assert.That(Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "3fe101"))!.Message, Does.Contain("exceeds the allowed 0"));
        Assert.That(Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "88 20"))!.Message, Does.Contain("after a header field"));
        Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "80"), "index 0");
        Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "0f 7777"), "name index 0x7777... truncated");
        Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "0004 6e61"), "string longer than the block");
        // C.4.1's first field: ":authority: www.example.com" Huffman-coded. Kestrel never sends these; supctl says so.
        Assert.That(Assert.Throws<Http2ProtocolException>(() => Decode(decoder, "418c f1e3 c2e5 f23a 6ba0 ab90 f4ff"))!.Message, Does.Contain("Huffman"));
    }

    [Test]
    public void Encoded_request_fields_decode_back()
    {
        var block = new List<byte>();
        HPackEncoder.WriteIndexed(block, 3);
        HPackEncoder.WriteLiteral(block, 4, "/supervisor.Supervisor/Status");
        HPackEncoder.WriteLiteral(block, "te", "trailers");
        HPackEncoder.WriteLiteral(block, "x-long", new string('v', 300));
        var decoder = new HPackDecoder();
        var headers = new List<KeyValuePair<string, string>>();
        decoder.Decode(block.ToArray(), headers);
        Assert.That(headers, Is.EqualTo(new[]
        {
            H(":method", "POST"), H(":path", "/supervisor.Supervisor/Status"), H("te", "trailers"), H("x-long", new string('v', 300)),
        }));
        Assert.That(decoder.Size, Is.EqualTo(0), "literals without indexing leave the table alone");
    }
}
