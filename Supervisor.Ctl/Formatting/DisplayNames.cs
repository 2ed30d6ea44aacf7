using System.Globalization;
using Google.Protobuf.Reflection;
using Supervisor.Protocol;

namespace Supervisor.Ctl.Formatting;

/// <summary>
/// The words supctl prints for the API's enums: each value's <c>(display_name)</c> option in protos/supervisor.proto
/// (Upstart's names: "running", "pre-start", "main"), read from the generated descriptor, so there is no second table
/// to keep in step. Google.Protobuf builds descriptors from the embedded file, without reflection (NativeAOT-clean).
/// Each enum's names are read once, on first use (a nested class per enum, so status does not build the others).
/// </summary>
internal static class DisplayNames
{
    public static string Name(this Goal value) => Pick(Goals.Names, (int)value);
    public static string Name(this State value) => Pick(States.Names, (int)value);
    public static string Name(this ProcessKind value) => Pick(Kinds.Names, (int)value);

    /// <summary>The value's display name, or its proto name when it has none.</summary>
    public static string Of(EnumValueDescriptor value) =>
        value.GetOptions()?.GetExtension(SupervisorExtensions.DisplayName) is { Length: > 0 } name ? name : value.Name;

    /// <summary>The display name of the value named <paramref name="protoName"/> in <paramref name="type"/> (protobuf's JSON writes that name).</summary>
    public static string Of(EnumDescriptor type, string protoName) =>
        type.FindValueByName(protoName) is { } value ? Of(value) : protoName;

    // A number this supctl does not know (a newer supd) prints as the number, as protobuf's JSON mapping does.
    private static string Pick(string?[] names, int number) =>
        (uint)number < (uint)names.Length && names[number] is { } name ? name : number.ToString(CultureInfo.InvariantCulture);

    private static string?[] Build(string enumName)
    {
        var type = SupervisorReflection.Descriptor.FindTypeByName<EnumDescriptor>(enumName);
        var names = new string?[type.Values.Max(v => v.Number) + 1];
        foreach (var value in type.Values.Where(v => v.Number >= 0)) names[value.Number] = Of(value);
        return names;
    }

    private static class Goals { public static readonly string?[] Names = Build(nameof(Goal)); }
    private static class States { public static readonly string?[] Names = Build(nameof(State)); }
    private static class Kinds { public static readonly string?[] Names = Build(nameof(ProcessKind)); }
}
