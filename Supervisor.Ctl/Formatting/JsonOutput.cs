using System.Text.Encodings.Web;
using System.Text.Json;
using System.CommandLine;
using Google.Protobuf;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl --json</c>: a verb prints its reply message in protobuf's JSON mapping (field names in lowerCamelCase as
/// in protos/supervisor.proto, every field present even when empty, 64-bit integers as strings), one document on one
/// line. The proto is the contract, so names stay stable as fields are only ever added. Google.Protobuf's formatter
/// works from the generated descriptors, with no reflection, so it is NativeAOT-clean. A verb adds its JSON with
/// one call: <c>if (JsonOutput.Requested(parse)) { JsonOutput.Write(output, reply); return; }</c>.
/// Every document goes out through one <see cref="Utf8JsonWriter"/>: compact (protobuf's formatter puts spaces inside
/// braces) and with only what JSON requires escaped (quotes, backslashes, control characters), so <c>+00:00</c> or
/// <c>KEY=VALUE</c> reach a script as they are.
/// </summary>
internal static class JsonOutput
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>The recursive <c>--json</c> option (added to the root command).</summary>
    public static Option<bool> Option { get; } = new("--json")
    {
        Description = "Print the reply as one line of JSON (protobuf's JSON mapping of the reply; see docs/supctl.md)",
        Recursive = true,
    };

    public static bool Requested(ParseResult parse) => parse.GetValue(Option);

    /// <summary>The writer's options: compact, escaping only what JSON and UTF-8 need (not '+', '&lt;', '=', '\'').</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(TextWriter output, IMessage reply) => output.WriteLine(Line(writer => WriteMessage(writer, reply)));

    /// <summary>A message and a list of strings under two names (<c>show</c>: its status and its last log lines).</summary>
    public static void Write(TextWriter output, string messageName, IMessage message, string listName, IEnumerable<string> values)
    {
        WriteObject(output, writer =>
        {
            writer.WritePropertyName(messageName);
            WriteMessage(writer, message);
            writer.WriteStartArray(listName);
            foreach (var value in values) writer.WriteStringValue(value);
            writer.WriteEndArray();
        });
    }

    /// <summary>For the few outputs that are not one reply message (<c>version</c>): string properties, in order.</summary>
    public static void Write(TextWriter output, params (string Name, string Value)[] properties)
    {
        WriteObject(output, writer =>
        {
            foreach (var (name, value) in properties) writer.WriteString(name, value);
        });
    }

    /// <summary>One JSON document on one line; <paramref name="body"/> writes it (a whole object, or its properties).</summary>
    public static string Line(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions)) body(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteObject(TextWriter output, Action<Utf8JsonWriter> body) =>
        output.WriteLine(Line(writer =>
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }));

    // Protobuf's JSON mapping, re-written by our writer: the document is parsed and each value written again, so
    // strings are unescaped and escaped anew with the writer's encoder, and the spaces go.
    private static void WriteMessage(Utf8JsonWriter writer, IMessage message)
    {
        using var document = JsonDocument.Parse(Formatter.Format(message));
        document.RootElement.WriteTo(writer);
    }
}
