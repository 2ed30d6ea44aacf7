using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Core.State;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>Status snapshots built from instances, classes and the goals set by hand, without a loop.</summary>
[TestFixture]
public sealed class StatusProjectionTests
{
    private FakeTimeProvider _time = new();
    private GoalRecord _goals = new();

    // NUnit shares one fixture between its tests: each gets its own clock and goals.
    [SetUp]
    public void Fresh()
    {
        _time = new FakeTimeProvider();
        _goals = new GoalRecord();
    }
    private StatusProjection Projection => new(null, _goals, _time);

    private static JobClass Job(string text, string name = "web") =>
        new(JobParser.Parse(name, $"/test/{name}.conf", text).Job ?? throw new ArgumentException(text));

    [Test]
    public void AJobThatNeverRanSaysSo()
    {
        var status = Projection.Class(Job("exec /bin/web"));
        Assert.That((status.Job, status.State, status.Goal, status.StopReason), Is.EqualTo(("web", JobState.Waiting, JobGoal.Stop, "never started")));
    }

    [Test]
    public void AStopByHandFromBeforeTheRestartSaysWhoAndWhen()
    {
        _goals.RestoreStop(new InstanceGoal("web", "", []) { By = "alice (uid 1000)", At = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero) });
        Assert.That(Projection.Class(Job("exec /bin/web")).StopReason,
            Is.EqualTo("by hand, by alice (uid 1000) at 2026-01-02 03:04:05 UTC, before supd restarted"));
    }

    [Test]
    public void AStopInThisRunWinsOverOneFromBefore()
    {
        _goals.RestoreStop(new InstanceGoal("web", "", []) { By = "alice" });
        var job = Job("exec /bin/web");
        job.LastStop = "failed: main process killed by signal SEGV";
        Assert.That(Projection.Class(job).StopReason, Is.EqualTo("failed: main process killed by signal SEGV"));
    }

    [Test]
    public void AnInstanceListsItsProcessesInInitctlsOrderWhateverOrderTheyStarted()
    {
        var job = Job("exec /bin/web");
        var instance = new JobInstance(job, "", null) { Goal = JobGoal.Start, State = JobState.PostStart };
        instance.Pids[ProcessKind.PostStart] = 12;
        instance.Pids[ProcessKind.Main] = 10;
        var status = Projection.Instance(instance);
        Assert.That(status.Processes, Is.EqualTo(new[] { (ProcessKind.Main, 10), (ProcessKind.PostStart, 12) }));
        Assert.That(status.StopReason, Is.Null, "a job with goal start is not stopped");
    }

    [Test]
    public void AFailedInstanceStoppingSaysWhyAndADisabledJobSaysByWhom()
    {
        var job = Job("exec /bin/web");
        _goals.Disable("web", "bob", _time.GetUtcNow());
        var instance = new JobInstance(job, "", null)
        {
            State = JobState.Stopping,
            Failure = new InstanceFailure("pre-start", ExitStatus.Exited(3), "pre-start process exited with status 3", null),
        };
        var status = Projection.Instance(instance);
        Assert.That(status.StopReason, Is.EqualTo("failed: pre-start process exited with status 3"));
        Assert.That(status.Failure, Is.EqualTo("pre-start process exited with status 3"));
        Assert.That(status.Disabled?.By, Is.EqualTo("bob"));
    }

    [Test]
    public void WhileRespawningTheTimeLeftComesFromTheDeadline()
    {
        var instance = new JobInstance(Job("respawn\nexec /bin/web"), "", null) { Goal = JobGoal.Start, State = JobState.Respawning };
        instance.Deadline.Arm(_time, TimeSpan.FromSeconds(4), _ => { });
        _time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.That(Projection.Instance(instance).NextRespawn, Is.EqualTo(TimeSpan.FromSeconds(2.5)));
        instance.State = JobState.Running;
        Assert.That(Projection.Instance(instance).NextRespawn, Is.Null);
    }

    [Test]
    public void AnInstanceThatLeftItsClassIsReportedAsTheClass()
    {
        var job = Job("exec /bin/web");
        var instance = new JobInstance(job, "", null) { Goal = JobGoal.Start, State = JobState.Running };
        job.Instances[""] = instance;
        Assert.That(Projection.Current(instance).State, Is.EqualTo(JobState.Running));
        Assert.That(Projection.Job(job).State, Is.EqualTo(JobState.Running));
        job.Instances.Remove("");
        job.LastStop = "stopped";
        Assert.That(Projection.Current(instance).StopReason, Is.EqualTo("stopped"));
    }
}
