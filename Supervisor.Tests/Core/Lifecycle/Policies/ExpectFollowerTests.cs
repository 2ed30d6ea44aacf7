using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Supervisor.Core.Language;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Lifecycle;

/// <summary>expect's verdict per poll, over the fake process seam and a fake clock, without a loop.</summary>
[TestFixture]
public sealed class ExpectFollowerTests
{
    private const string Tag = "tag-1";
    private FakeTimeProvider _time = new();
    private FakeProcessControl _processes = new();
    private ExpectFollower Follower => new(_processes, _time, new SupervisorOptions());
    private ExpectWait NewWait() => new() { Started = _time.GetTimestamp() };

    // NUnit shares one fixture between its tests: each gets its own processes and clock.
    [SetUp]
    public void Fresh()
    {
        _time = new FakeTimeProvider();
        _processes = new FakeProcessControl();
    }

    // A process the fake pretends supd was given (re-parented, or the main one), as /proc would show it.
    private void Orphan(int pid, char state = 'S', int group = 0, int session = 0)
    {
        _processes.Orphans.Add((pid, Tag));
        _processes.Info[pid] = new ProcessInfo(state, 1, group == 0 ? pid : group, session == 0 ? pid : session);
    }

    [Test]
    public void StopIsSatisfiedOnceTheProcessStoppedItselfAndGetsSigcont()
    {
        Orphan(100);
        Assert.That(Follower.Poll(ExpectMode.Stop, NewWait(), 100, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"));
        Orphan(100, state: 'T');
        Assert.That(Follower.Poll(ExpectMode.Stop, NewWait(), 100, Tag, 0).Verdict.ToString(), Is.EqualTo("Satisfied"));
        Assert.That(_processes.SignalsSent, Does.Contain((100, Supervisor.Core.Signals.SIGCONT, false)));
    }

    [Test]
    public void ForkWaitsForTheFirstExitThenAdoptsTheOneTaggedChildWithItsGroup()
    {
        Orphan(200, group: 150, session: 150);
        var wait = NewWait();
        Assert.That(Follower.Poll(ExpectMode.Fork, wait, 0, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"), "the first process has not exited");
        wait.InitialExitAt = _time.GetTimestamp();
        var result = Follower.Poll(ExpectMode.Fork, wait, 0, Tag, 0);
        Assert.That((result.Verdict.ToString(), result.Pid, result.Group), Is.EqualTo(("Satisfied", 200, 150)));
        Assert.That(_processes.IsAlive(200), Is.True, "adopted");
    }

    [Test]
    public void DaemonTakesASessionLeaderOnlyOnceItStayedTheOnlyCandidate()
    {
        Orphan(300); // leads its own session: maybe the middle of a double fork
        var wait = NewWait();
        wait.InitialExitAt = _time.GetTimestamp();
        var settle = new SupervisorOptions().ExpectDaemonSettle;
        for (var i = 0; i < 9; i++)
        {
            Assert.That(Follower.Poll(ExpectMode.Daemon, wait, 0, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"), $"poll {i}");
            _time.Advance(settle / 10);
        }
        _time.Advance(settle / 10);
        Assert.That(Follower.Poll(ExpectMode.Daemon, wait, 0, Tag, 0).Pid, Is.EqualTo(300), "the only candidate for the settle time");
    }

    [Test]
    public void DaemonDoesNotTakeTheMiddleChildBeforeItsSetsidThenTakesTheDaemonInTheNewSession()
    {
        // The first process (pid = session 500) left its child behind, not yet past setsid: still in session 500.
        Orphan(501, session: 500, group: 500);
        var wait = new ExpectWait { Started = _time.GetTimestamp(), FirstSession = 500, InitialExitAt = _time.GetTimestamp() };
        Assert.That(Follower.Poll(ExpectMode.Daemon, wait, 0, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"), "the middle child, before setsid");

        // It called setsid, forked the daemon and exited: the daemon is in 501's session, which it does not lead.
        _processes.Orphans.Clear();
        Orphan(502, session: 501, group: 501);
        Assert.That(Follower.Poll(ExpectMode.Daemon, wait, 0, Tag, 0).Pid, Is.EqualTo(502));
    }

    [Test]
    public void SeveralCandidatesAreNoneYet()
    {
        Orphan(400);
        Orphan(401);
        var wait = NewWait();
        wait.InitialExitAt = _time.GetTimestamp();
        wait.Candidate = 400;
        Assert.That(Follower.Poll(ExpectMode.Fork, wait, 0, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"));
        Assert.That(wait.Candidate, Is.Zero);
    }

    [Test]
    public void AFirstExitThatLeftNothingFailsTheStartAfterTheForkGrace()
    {
        var wait = NewWait();
        wait.InitialExitAt = _time.GetTimestamp();
        Assert.That(Follower.Poll(ExpectMode.Fork, wait, 0, Tag, 0).Verdict.ToString(), Is.EqualTo("Waiting"));
        _time.Advance(new SupervisorOptions().ExpectForkGrace);
        var result = Follower.Poll(ExpectMode.Fork, wait, 0, Tag, 0);
        Assert.That((result.Verdict.ToString(), result.Status), Is.EqualTo(("Failed", (ExitStatus?)ExitStatus.Exited(0))));
        Assert.That(result.Message, Is.EqualTo("expect fork: the main process exited with status 0 and left no process behind"));
    }

    [Test]
    public void AProcessThatNeverDoesWhatExpectSaysIsSupervisedAsItIsAfterTheTimeout()
    {
        Orphan(500);
        var wait = NewWait();
        _time.Advance(new SupervisorOptions().ExpectTimeout);
        var result = Follower.Poll(ExpectMode.Fork, wait, 500, Tag, 0);
        Assert.That(result.Verdict.ToString(), Is.EqualTo("SuperviseAsIs"));
        Assert.That(result.Message, Does.StartWith("expect fork: the main process (500) did not fork and exit within 10s"));
    }
}
