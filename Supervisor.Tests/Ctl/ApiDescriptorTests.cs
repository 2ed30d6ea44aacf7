using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using NUnit.Framework;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Protocol;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Ctl;

/// <summary>
/// The API describes itself (protos/supervisor.proto): each RPC's verb and right are method options the access
/// interceptor reads, each enum value's display_name is what supctl prints. These hold the descriptor to the
/// documentation and to Core, which the daemon's casts between Core's enums and the proto's rely on.
/// </summary>
[TestFixture]
public sealed class ApiDescriptorTests
{
    private static IList<MethodDescriptor> Methods => Supervisor.Protocol.Supervisor.Descriptor.Methods;

    [Test]
    public void Every_rpc_declares_its_verb_and_a_right()
    {
        Assert.That(Methods, Is.Not.Empty);
        foreach (var method in Methods)
        {
            var options = method.GetOptions();
            Assert.That(options?.HasExtension(SupervisorExtensions.Verb), Is.True, $"{method.Name} has no (verb)");
            Assert.That(options!.GetExtension(SupervisorExtensions.Verb), Does.Match("^[a-z]+(-[a-z]+)*$"), method.Name);
            Assert.That(options.HasExtension(SupervisorExtensions.Right), Is.True, $"{method.Name} has no (right)");
            Assert.That(options.GetExtension(SupervisorExtensions.Right), Is.Not.EqualTo(Right.Unspecified), method.Name);
        }
        var verbs = Methods.Select(m => m.GetOptions().GetExtension(SupervisorExtensions.Verb)).ToList();
        Assert.That(verbs, Is.Unique);
    }

    [Test]
    public void Each_rpcs_right_is_the_one_access_control_md_lists_its_verb_under()
    {
        // "| `read` | list, status, … |": the verbs each right covers, as the documentation's table says.
        var documented = new Dictionary<string, string>();
        foreach (var line in File.ReadLines(Path.Combine(Binaries.RepositoryRoot, "docs", "access-control.md")))
        {
            var row = Regex.Match(line, @"^\| `(read|control|admin)` \| (.*) \|$");
            if (!row.Success) continue;
            foreach (var verb in row.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries))
                documented[verb] = row.Groups[1].Value;
        }
        Assert.That(documented.Values.Distinct(), Is.EquivalentTo(new[] { "read", "control", "admin" }), "the table was found");
        foreach (var method in Methods)
        {
            var verb = method.GetOptions().GetExtension(SupervisorExtensions.Verb);
            var right = method.GetOptions().GetExtension(SupervisorExtensions.Right);
            Assert.That(documented.TryGetValue(verb, out var listed), Is.True, $"docs/access-control.md does not list {verb} ({method.Name})");
            Assert.That(DisplayName(FindEnum(nameof(Right)).FindValueByNumber((int)right)), Is.EqualTo(listed), $"{method.Name} ({verb})");
        }
    }

    [Test]
    public void The_proto_enums_are_cores_values_in_cores_order_with_cores_names()
    {
        AssertSame(Enum.GetValues<JobGoal>(), g => (int)g, g => g.Name(), FindEnum(nameof(Goal)));
        AssertSame(Enum.GetValues<JobState>(), s => (int)s, s => s.Name(), FindEnum(nameof(State)));
        AssertSame(Enum.GetValues<Supervisor.Core.Processes.ProcessKind>(), k => (int)k, k => k.Name(), FindEnum("ProcessKind"));
    }

    [Test]
    public void Every_enum_value_of_the_api_has_a_display_name()
    {
        foreach (var type in SupervisorReflection.Descriptor.EnumTypes)
        {
            foreach (var value in type.Values)
            {
                Assert.That(value.GetOptions()?.HasExtension(SupervisorExtensions.DisplayName), Is.True, $"{type.Name}.{value.Name}");
                Assert.That(DisplayName(value), Is.Not.Empty, $"{type.Name}.{value.Name}");
            }
        }
    }

    private static void AssertSame<T>(T[] core, Func<T, int> number, Func<T, string> name, EnumDescriptor proto)
    {
        Assert.That(proto.Values, Has.Count.EqualTo(core.Length), proto.Name);
        foreach (var value in core)
        {
            var protoValue = proto.FindValueByNumber(number(value));
            Assert.That(protoValue, Is.Not.Null, $"{proto.Name} has no value {number(value)} ({value})");
            Assert.That(DisplayName(protoValue), Is.EqualTo(name(value)), $"{proto.Name}.{protoValue.Name}");
        }
    }

    private static EnumDescriptor FindEnum(string name) => SupervisorReflection.Descriptor.FindTypeByName<EnumDescriptor>(name);

    private static string DisplayName(EnumValueDescriptor value) => value.GetOptions().GetExtension(SupervisorExtensions.DisplayName);
}
