using System.Text.Encodings.Web;
using System.Text.Json;
using System.CommandLine;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// <c>supctl --json</c>: a verb prints its reply message in protobuf's JSON mapping (field names in lowerCamelCase as
/// in protos/supervisor.proto, every field present even when empty, 64-bit integers as strings), one document on one
/// line. The proto is the contract, so names stay stable as fields are only ever added. Google.Protobuf's formatter
/// works from the generated descriptors, with no reflection, so it is NativeAOT-clean. A verb adds its JSON with
/// one call, <c>output.Reply(reply, () => TextLines(reply))</c> (Commands/Output.cs), which picks JSON or text.
/// Every document goes out through one <see cref="Utf8JsonWriter"/>: compact (protobuf's formatter puts spaces inside
/// braces) and with only what JSON requires escaped (quotes, backslashes, control characters), so <c>+00:00</c> or
/// <c>KEY=VALUE</c> reach a script as they are. Enum values are written as their <c>(display_name)</c> (Upstart's
/// words: <c>"state":"running"</c>, <c>"kind":"pre-start"</c>), the contract docs/supctl.md gives.
/// </summary>
internal static class JsonOutput
{
    /// <summary>The recursive <c>--json</c> option (added to the root command).</summary>
    public static Option<bool> Option { get; } = new("--json")
    {
        Description = "Print the reply as one line of JSON (protobuf's JSON mapping of the reply; see docs/supctl.md)",
        Recursive = true,
    };

    // Apart from the option, which every run builds: their initialisers (the encoder's tables, protobuf's formatter) cost
    // a short-lived supctl about 5 % of a call, and only --json needs them.
    private static class Writing
    {
        public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

        /// <summary>The writer's options: compact, escaping only what JSON and UTF-8 need (not '+', '&lt;', '=', '\'').</summary>
        public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    }

    /// <summary>A reply message as one line.</summary>
    public static string Document(IMessage reply) => Line(writer => WriteMessage(writer, reply));

    /// <summary>A message and a list of strings under two names (<c>show</c>: its status and its last log lines).</summary>
    public static string Document(string messageName, IMessage message, string listName, IEnumerable<string> values) =>
        ObjectLine(writer =>
        {
            writer.WritePropertyName(messageName);
            WriteMessage(writer, message);
            writer.WriteStartArray(listName);
            foreach (var value in values) writer.WriteStringValue(value);
            writer.WriteEndArray();
        });

    /// <summary>For the few outputs that are not one reply message (<c>version</c>, <c>log</c>'s lines): string properties, in order.</summary>
    public static string Document(params (string Name, string Value)[] properties) =>
        ObjectLine(writer =>
        {
            foreach (var (name, value) in properties) writer.WriteString(name, value);
        });

    /// <summary>One JSON document on one line; <paramref name="body"/> writes it (a whole object, or its properties).</summary>
    public static string Line(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Writing.Options)) body(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string ObjectLine(Action<Utf8JsonWriter> body) =>
        Line(writer =>
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        });

    // Protobuf's JSON mapping, re-written by our writer: the document is parsed and each value written again, so
    // strings are unescaped and escaped anew with the writer's encoder, and the spaces go. Enum values become their
    // display names ("running", not "STATE_RUNNING"): the walk follows the message's descriptor to know which are enums.
    private static void WriteMessage(Utf8JsonWriter writer, IMessage message)
    {
        using var document = JsonDocument.Parse(Writing.Formatter.Format(message));
        WriteObject(writer, document.RootElement, message.Descriptor);
    }

    private static void WriteObject(Utf8JsonWriter writer, JsonElement element, MessageDescriptor type)
    {
        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            writer.WritePropertyName(property.Name);
            var field = type.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name);
            if (field is null || field.IsMap) property.Value.WriteTo(writer);
            else if (property.Value.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray();
                foreach (var item in property.Value.EnumerateArray()) WriteValue(writer, item, field);
                writer.WriteEndArray();
            }
            else WriteValue(writer, property.Value, field);
        }
        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement value, FieldDescriptor field)
    {
        if (field.FieldType == FieldType.Enum && value.ValueKind == JsonValueKind.String)
            writer.WriteStringValue(DisplayNames.Of(field.EnumType, value.GetString()!));
        else if (field.FieldType == FieldType.Message && value.ValueKind == JsonValueKind.Object)
            WriteObject(writer, value, field.MessageType);
        else
            value.WriteTo(writer);
    }
}
