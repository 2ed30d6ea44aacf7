extern alias ctl;

using Google.Protobuf.Reflection;
using NUnit.Framework;
using ctl::Supervisor.Ctl.Formatting;
using ctl::Supervisor.Protocol;

namespace Supervisor.Tests.Ctl;

// Inside the namespace, so it wins over the test namespace Supervisor.Tests.Core.State.
using State = ctl::Supervisor.Protocol.State;

/// <summary>supctl's written-out names for the status line's enums are the proto's (display_name) options, value by value.</summary>
[TestFixture]
public sealed class DisplayNamesTests
{
    [TestCase(nameof(Goal))]
    [TestCase(nameof(State))]
    [TestCase(nameof(ProcessKind))]
    public void The_written_out_names_are_the_protos_display_names(string enumName)
    {
        var type = SupervisorReflection.Descriptor.FindTypeByName<EnumDescriptor>(enumName);
        var table = enumName switch
        {
            nameof(Goal) => DisplayNames.Goals,
            nameof(State) => DisplayNames.States,
            _ => DisplayNames.Kinds,
        };
        Assert.That(table, Has.Length.EqualTo(type.Values.Count));
        foreach (var value in type.Values)
            Assert.That(table[value.Number], Is.EqualTo(DisplayNames.Of(value)), $"{enumName}.{value.Name}");
    }

    [Test]
    public void A_number_this_supctl_does_not_know_prints_as_the_number() =>
        Assert.That(((State)99).Name(), Is.EqualTo("99"));
}
