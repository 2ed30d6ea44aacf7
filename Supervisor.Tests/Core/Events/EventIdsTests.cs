using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Events;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Tests.Core.Lifecycle;

namespace Supervisor.Tests.Core.Events;

/// <summary>The registry of event and variable names against spec §8 and against what the real loop emits.</summary>
[TestFixture]
public sealed class EventIdsTests
{
    [Test]
    public void JobEventsAndBuiltInsAreUpstartsAndSupds()
    {
        Assert.That(EventIds.JobEvents, Is.EquivalentTo(new[] { "starting", "started", "stopping", "stopped", "exited", "unhealthy", "healthy" }));
        Assert.That(EventIds.StateEvents, Is.EquivalentTo(new[] { "starting", "started", "stopping", "stopped" }));
        Assert.That(EventIds.JobEvents, Is.SupersetOf(EventIds.StateEvents));
        Assert.That(EventIds.BuiltIn, Is.SupersetOf(EventIds.JobEvents));
        Assert.That(EventIds.BuiltIn, Is.EquivalentTo(new[]
        {
            "startup", "starting", "started", "stopping", "stopped", "exited", "unhealthy", "healthy",
            "control-alt-delete", "keyboard-request", "power-status-changed", "filesystem", "runlevel",
        }));
        Assert.That(EventIds.Failed("boom"), Is.EqualTo("boom/failed"));
        Assert.That(EventIds.IsFailed("boom/failed"), Is.True);
        Assert.That(EventIds.IsFailed("boom"), Is.False);
    }

    [Test]
    public void BootAndShutdownEventsAreWrittenAsBefore()
    {
        Assert.That(Defaults.Daemon.BootEvents, Is.EqualTo("filesystem; runlevel RUNLEVEL=2 PREVLEVEL=N"));
        Assert.That(Defaults.Daemon.ShutdownEvent, Is.EqualTo("runlevel RUNLEVEL=0 PREVLEVEL=2"));
    }

    [Test]
    public async Task EverythingTheLoopEmitsIsInTheRegistryAndEveryNameIsUsed()
    {
        await using var h = await LoopHarness.CreateAsync(
            ("svc", "respawn\nrespawn limit 1 60\nexec /bin/false\n"),
            ("hook", "pre-start exec /bin/false\nexec /bin/sleep 100\n"),
            ("check", "start on boom\ntask\nexec /bin/false\n"));
        await h.Loop.EmitBootEventsAsync([
            (EventIds.Startup, []), (EventIds.Filesystem, []),
            (EventIds.Runlevel, [$"{EventIds.Variables.Runlevel}=2", $"{EventIds.Variables.PrevLevel}=N"])]).Within();

        // A crash that respawns, then one too many: exited RESPAWN=yes/no, stopped RESULT=failed PROCESS=respawn.
        await h.Loop.StartAsync("svc", []).Within();
        await h.ExitAsync("svc", "main", ExitStatus.Exited(1));
        await h.ExitAsync("svc", "main", ExitStatus.Exited(1));
        // A failing pre-start: PROCESS=pre-start EXIT_STATUS=3.
        var hook = h.Loop.StartAsync("hook", []);
        await h.SettleAsync();
        await h.ExitAsync("hook", "pre-start", ExitStatus.Exited(3));
        Assert.ThrowsAsync<SupervisorException>(async () => await hook.Within());
        // A task killed by a signal fails the event that started it: EXIT_SIGNAL, boom/failed.
        var emit = h.Loop.EmitAsync("boom", []);
        await h.SettleAsync();
        await h.ExitAsync("check", "main", ExitStatus.Killed(Signals.SIGTERM));
        Assert.ThrowsAsync<SupervisorException>(async () => await emit.Within());

        var names = new HashSet<string>();
        var variables = new HashSet<string>();
        foreach (var line in h.Events)
        {
            var words = line.Split(' ');
            names.Add(words[0]);
            Assert.That(EventIds.BuiltIn.Contains(words[0]) || words[0] is "boom" or "boom/failed", Is.True, line);
            foreach (var assignment in words.Skip(1))
            {
                var (key, value) = (assignment[..assignment.IndexOf('=')], assignment[(assignment.IndexOf('=') + 1)..]);
                variables.Add(key);
                Assert.That(EventIds.Variables.All, Does.Contain(key), line);
                if (key == EventIds.Variables.Result) Assert.That(value, Is.AnyOf(EventIds.Values.Ok, EventIds.Values.Failed), line);
                if (key == EventIds.Variables.Respawn) Assert.That(value, Is.AnyOf(EventIds.Values.Yes, EventIds.Values.No), line);
                if (key == EventIds.Variables.Process)
                    Assert.That(ProcessKinds.All.Any(k => k.Name == value) || value == EventIds.Values.RespawnProcess, Is.True, line);
            }
        }
        Assert.That(names, Is.SupersetOf(new[]
        {
            EventIds.Startup, EventIds.Filesystem, EventIds.Runlevel, EventIds.Starting, EventIds.Started,
            EventIds.Stopping, EventIds.Stopped, EventIds.Exited, EventIds.Failed("boom"),
        }));
        Assert.That(variables, Is.EquivalentTo(EventIds.Variables.All), "every registered variable is one the loop sets");
        Assert.That(h.Events, Has.Some.Contains($"{EventIds.Variables.Process}={EventIds.Values.RespawnProcess}"));
    }
}
