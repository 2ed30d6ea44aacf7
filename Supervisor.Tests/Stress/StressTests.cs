using NUnit.Framework;

namespace Supervisor.Tests.Stress;

/// <summary>
/// The stress tests that load the machine (a thousand crash-looping jobs, a hundred clients, SIGKILLs of supd,
/// twenty followers), one file each. They are one fixture so they run one after another, and beside the rest of the
/// suite: four at once on two cores starved each other's supd past its bounds, and alone at the end of the run they
/// added two minutes of one-test-at-a-time to `dotnet test`.
/// </summary>
[TestFixture, Category("Stress")]
public sealed partial class StressTests;
