using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Processes;

/// <summary>The table of process kinds against Upstart's spec (§3 stanzas, §7 exit rules, §10 status order).</summary>
[TestFixture]
public sealed class ProcessKindsTests
{
    [Test]
    public void DescribesEveryKindOnceIndexedByKind()
    {
        var kinds = Enum.GetValues<ProcessKind>();
        Assert.That(ProcessKinds.All.Select(k => k.Kind), Is.EquivalentTo(kinds));
        foreach (var kind in kinds)
        {
            Assert.That(ProcessKinds.Of(kind).Kind, Is.EqualTo(kind));
            Assert.That(kind.Info(), Is.SameAs(ProcessKinds.All[(int)kind]));
        }
        Assert.That(() => ProcessKinds.Of((ProcessKind)99), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void StatusOrderIsInitctlsThenCheckAndHealth()
    {
        // Spec §10: the first live process in the order main, pre-start, post-start, pre-stop, post-stop.
        Assert.That(ProcessKinds.All.Select(k => k.Name),
            Is.EqualTo(new[] { "main", "pre-start", "post-start", "pre-stop", "post-stop", "check", "health" }));
    }

    [Test]
    public void RunOrderFollowsTheStatesThatRunThem()
    {
        Assert.That(ProcessKinds.RunOrder.Select(k => k.Kind), Is.EqualTo(new[]
        {
            ProcessKind.PreStart, ProcessKind.Main, ProcessKind.PostStart, ProcessKind.PreStop, ProcessKind.PostStop,
        }));
        // Every lifecycle kind is in the run order, sorted by the state (spec §7's order of states) that runs it.
        Assert.That(ProcessKinds.RunOrder, Is.EquivalentTo(ProcessKinds.All.Where(k => k.InLifecycle)));
        Assert.That(ProcessKinds.RunOrder.Select(k => k.RunsIn!.Value), Is.Ordered);
        Assert.That(ProcessKinds.All.Where(k => k.RunsIn is { } s).Select(k => (k.Kind, k.RunsIn)), Is.EquivalentTo(new (ProcessKind, JobState?)[]
        {
            (ProcessKind.PreStart, JobState.PreStart), (ProcessKind.Main, JobState.Spawned), (ProcessKind.PostStart, JobState.PostStart),
            (ProcessKind.PreStop, JobState.PreStop), (ProcessKind.PostStop, JobState.PostStop),
        }));
    }

    [Test]
    public void EachStateRunsAtMostOneKind()
    {
        foreach (var state in Enum.GetValues<JobState>())
            Assert.That(ProcessKinds.All.Count(k => k.RunsIn == state), Is.LessThanOrEqualTo(1), state.ToString());
        Assert.That(ProcessKinds.All.SingleOrDefault(k => k.RunsIn == JobState.Spawned)?.Kind, Is.EqualTo(ProcessKind.Main));
        Assert.That(ProcessKinds.All.Any(k => k.RunsIn == JobState.Running), Is.False, "running waits for no process of its own");
    }

    [TestCase(ProcessKind.Main, ProcessExitRule.MainRules, true, true)]
    [TestCase(ProcessKind.PreStart, ProcessExitRule.NonZeroFails, true, true)]
    [TestCase(ProcessKind.PostStart, ProcessExitRule.Ignored, false, false)]
    [TestCase(ProcessKind.PreStop, ProcessExitRule.Ignored, false, false)]
    [TestCase(ProcessKind.PostStop, ProcessExitRule.NonZeroFails, true, true)]
    [TestCase(ProcessKind.Check, ProcessExitRule.AnswersRequest, false, false)]
    [TestCase(ProcessKind.Health, ProcessExitRule.CountsTowardsHealth, false, false)]
    public void ExitAndSpawnRulesAreSpecSeven(ProcessKind kind, ProcessExitRule exit, bool nonZeroFails, bool spawnFailureFails)
    {
        // Spec §7: pre-start and post-stop non-zero → failure; post-start and pre-stop outcomes (spawn failure
        // included) ignored; main by its own rules (normal exit, respawn). supd's check answers its request only.
        var info = ProcessKinds.Of(kind);
        Assert.That(info.Exit, Is.EqualTo(exit));
        Assert.That(info.Exit is ProcessExitRule.MainRules or ProcessExitRule.NonZeroFails, Is.EqualTo(nonZeroFails));
        Assert.That(info.SpawnFailureFails, Is.EqualTo(spawnFailureFails));
        Assert.That(info.InLifecycle, Is.EqualTo(kind is not (ProcessKind.Check or ProcessKind.Health)));
    }

    [TestCase(ProcessKind.Main, false, false)]
    [TestCase(ProcessKind.PreStart, false, false)]
    [TestCase(ProcessKind.PostStart, true, false)]
    [TestCase(ProcessKind.PreStop, true, true)]
    [TestCase(ProcessKind.PostStop, false, true)]
    [TestCase(ProcessKind.Check, true, false)]
    [TestCase(ProcessKind.Health, true, false)]
    public void StatusLabelAndStopEnvironment(ProcessKind kind, bool labelled, bool stopEnvironment)
    {
        // Spec §10: a first process that is not main/pre-start/post-stop is written ", (post-start) process N".
        // Spec §4: the stop's variables reach pre-stop and post-stop.
        Assert.That(ProcessKinds.Of(kind).LabelledWhenFirst, Is.EqualTo(labelled));
        Assert.That(ProcessKinds.Of(kind).GetsStopEnvironment, Is.EqualTo(stopEnvironment));
    }

    [Test]
    public void TheStatusLineLabelsAFirstProcessExactlyWhenTheTableSays()
    {
        // StatusLineFormat is linked into supctl, which has no table, so it writes the rule by name; this holds it to
        // the table, kind by kind.
        foreach (var info in ProcessKinds.All)
        {
            var line = StatusLineFormat.Format("j", "", "start", "running", null, null, [(info.Name, 42)], false, false);
            var expected = info.LabelledWhenFirst ? $"j start/running, ({info.Name}) process 42" : "j start/running, process 42";
            Assert.That(line, Is.EqualTo(expected), info.Name);
        }
    }

    [Test]
    public void EachStanzaSetsOnlyItsOwnCommandAndPrintsBack()
    {
        foreach (var info in ProcessKinds.All)
        {
            var prefix = info.Stanza is null ? "" : info.Stanza + " ";
            foreach (var text in new[] { $"{prefix}exec /bin/{info.Name} a\n", $"{prefix}script\necho {info.Name}\nend script\n" })
            {
                var job = Language.JobAssert.Parses(text);
                Assert.That(info.Command(job), Is.Not.Null, text);
                Assert.That(info.Command(job)!.IsScript, Is.EqualTo(text.Contains("script", StringComparison.Ordinal)), text);
                foreach (var other in ProcessKinds.All.Where(k => k != info))
                    Assert.That(other.Command(job), Is.Null, $"{other.Name} set by: {text}");
                Assert.That(JobPrinter.Print(job), Is.EqualTo(text));
            }
        }
    }

    [Test]
    public void StanzaAndNameLookups()
    {
        Assert.That(ProcessKinds.TryFromStanza("main", out _), Is.False, "main has no stanza of its own: exec and script");
        Assert.That(ProcessKinds.TryFromStanza("exec", out _), Is.False);
        foreach (var info in ProcessKinds.All)
        {
            Assert.That(ProcessKinds.All.Single(k => k.Name == info.Name), Is.SameAs(info), "names are unique");
            Assert.That(info.Kind.Name(), Is.EqualTo(info.Name));
            if (info.Stanza is not null)
                Assert.That(ProcessKinds.TryFromStanza(info.Stanza, out var byStanza) ? byStanza : null, Is.SameAs(info));
        }
        Assert.That(ProcessKinds.All.Select(k => k.Name), Does.Not.Contain("security"));
    }

    [Test]
    public void WithCommandAndCommandAgree()
    {
        var empty = new JobDefinition { Name = "x", SourcePath = "x.conf" };
        foreach (var info in ProcessKinds.All)
        {
            var command = ProcessCommand.Exec("/bin/true", 1);
            var job = info.WithCommand(empty, command);
            Assert.That(info.Command(job), Is.SameAs(command));
            Assert.That(ProcessKinds.All.Count(k => k.Command(job) is not null), Is.EqualTo(1));
        }
    }

    [TestCase("exec /bin/true\n", ProcessKind.Main)]
    [TestCase("pre-start exec /bin/true\nexec /bin/true\n", ProcessKind.PreStart)]
    [TestCase("post-start exec /bin/true\n", ProcessKind.PostStart)]
    [TestCase("check exec /bin/true\n", ProcessKind.Main)]
    [TestCase("description abstract\n", ProcessKind.Main)]
    public void FirstOfStartIsTheFirstDefinedInRunOrder(string text, ProcessKind first) =>
        Assert.That(ProcessKinds.FirstOfStart(Language.JobAssert.Parses(text)), Is.EqualTo(first));
}
