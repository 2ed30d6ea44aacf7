using System.Globalization;
using Google.Protobuf.Reflection;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// The words supctl prints for the API's enums: each value's <c>(display_name)</c> option in protos/supervisor.proto
/// (Upstart's names: "running", "pre-start", "main").
/// The status line's three enums are written out here rather than read from the descriptor: reading one option
/// builds the descriptors of the whole file and of descriptor.proto, which cost every `supctl status` ~600 methods to
/// JIT (0.3 s of CPU in the JIT build; a few ms native). <c>Ctl/DisplayNamesTests</c> holds these tables to the proto's
/// options. <c>--json</c>, which walks the descriptor anyway, reads the options (<see cref="Of(EnumValueDescriptor)"/>).
/// </summary>
internal static class DisplayNames
{
    internal static readonly string[] Goals = ["stop", "start"];

    internal static readonly string[] States =
        ["waiting", "starting", "security", "pre-start", "spawned", "post-start", "running", "pre-stop", "stopping", "killed", "post-stop", "respawning"];

    internal static readonly string[] Kinds = ["main", "pre-start", "post-start", "pre-stop", "post-stop", "check", "health"];

    public static string Name(this Goal value) => Pick(Goals, (int)value);
    public static string Name(this State value) => Pick(States, (int)value);
    public static string Name(this ProcessKind value) => Pick(Kinds, (int)value);

    /// <summary>The value's display name, or its proto name when it has none.</summary>
    public static string Of(EnumValueDescriptor value) =>
        value.GetOptions()?.GetExtension(SupervisorExtensions.DisplayName) is { Length: > 0 } name ? name : value.Name;

    /// <summary>The display name of the value named <paramref name="protoName"/> in <paramref name="type"/> (protobuf's JSON writes that name).</summary>
    public static string Of(EnumDescriptor type, string protoName) =>
        type.FindValueByName(protoName) is { } value ? Of(value) : protoName;

    // A number this supctl does not know (a newer supd) prints as the number, as protobuf's JSON mapping does.
    private static string Pick(string[] names, int number) =>
        (uint)number < (uint)names.Length ? names[number] : number.ToString(CultureInfo.InvariantCulture);
}
