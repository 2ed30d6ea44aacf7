using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Protocol;
using Goal = Supervisor.Protocol.Goal;
using State = Supervisor.Protocol.State;
using ProtoKind = Supervisor.Protocol.ProcessKind;

namespace Supervisor.Daemon.Grpc;

/// <summary>Core snapshots to protocol messages, in one place.</summary>
internal static class ProtoMapper
{
    // The proto's Goal, State and ProcessKind list Core's values in Core's order, each with Core's name as its
    // display_name; Supervisor.Tests/Ctl/ApiDescriptorTests holds the two to that, value by value.
    public static Goal ToProto(JobGoal goal) => (Goal)(int)goal;
    public static State ToProto(JobState state) => (State)(int)state;
    public static ProtoKind ToProto(Supervisor.Core.Processes.ProcessKind kind) => (ProtoKind)(int)kind;

    public static JobStatus ToProto(JobStatusSnapshot snapshot)
    {
        var status = new JobStatus
        {
            Job = snapshot.Job,
            Instance = snapshot.Instance,
            Goal = ToProto(snapshot.Goal),
            State = ToProto(snapshot.State),
            Description = snapshot.Description ?? "",
            SourcePath = snapshot.SourcePath,
            RespawnCount = snapshot.RespawnCount,
            Failure = snapshot.Failure ?? "",
            MainStartedUnixMs = snapshot.MainStarted?.ToUnixTimeMilliseconds() ?? 0,
            AdoptedUnixMs = snapshot.AdoptedAt?.ToUnixTimeMilliseconds() ?? 0,
            LogPath = snapshot.LogPath,
            LogBytesDropped = snapshot.LogBytesDropped,
            Usage = snapshot.Usage ?? "",
            ExpectProblem = snapshot.ExpectProblem ?? "",
            SinceUnixMs = snapshot.Since?.ToUnixTimeMilliseconds() ?? 0,
            ChangedOnDisk = snapshot.ChangedOnDisk,
            NextRespawnMs = (long)Math.Ceiling(snapshot.NextRespawn?.TotalMilliseconds ?? 0),
            StopReason = snapshot.StopReason ?? "",
            Disabled = snapshot.Disabled is not null,
            DisabledBy = snapshot.Disabled?.By ?? "",
            DisabledSinceUnixMs = snapshot.Disabled?.Since.ToUnixTimeMilliseconds() ?? 0,
        };
        status.NotApplied.Add(snapshot.NotApplied);
        if (snapshot.Health is { } health)
        {
            status.Health = health.Status;
            status.UnhealthyReason = health.UnhealthyReason ?? "";
            status.HealthFailures = health.Failures;
            status.HealthLastUnixMs = health.LastAt?.ToUnixTimeMilliseconds() ?? 0;
            status.HealthLastPassed = health.LastPassed;
            status.HealthLastOutcome = health.LastOutcome ?? "";
            status.HealthLastOutput.Add(health.LastOutput);
        }
        foreach (var (kind, pid) in snapshot.Processes)
            status.Processes.Add(new Supervisor.Protocol.ProcessInfo { Kind = ToProto(kind), Pid = pid });
        if (snapshot.LastExit is { } exit)
        {
            status.LastExit = new ProcessExit
            {
                Process = ToProto(exit.Process),
                Pid = exit.Pid,
                ExitStatus = exit.Status is { IsSignal: false } s ? s.Code : 0,
                SignalName = exit.Status is { IsSignal: true } k ? Signals.Name(k.Signal) : "",
                SpawnError = exit.SpawnError ?? "",
                UnixMs = exit.When.ToUnixTimeMilliseconds(),
                OutOfMemory = exit.Status is { OutOfMemory: not null } oom ? oom.ToString() : "",
            };
        }
        return status;
    }

    public static Resources ToProto(Supervisor.Core.Processes.Containment.ResourceUsage usage) => new()
    {
        Tasks = usage.Tasks,
        MemoryBytes = usage.MemoryBytes,
        MemoryPeakBytes = usage.MemoryPeakBytes,
        CpuUsec = usage.CpuUsec,
        HasIo = usage.IoReadBytes is not null,
        IoReadBytes = usage.IoReadBytes ?? 0,
        IoWriteBytes = usage.IoWriteBytes ?? 0,
        Source = usage.Source,
    };

    public static WatchEventsReply ToProto(SupervisorNotification notification)
    {
        var reply = new WatchEventsReply { Sequence = (ulong)notification.Sequence, UnixMs = notification.Time.ToUnixTimeMilliseconds() };
        switch (notification)
        {
            case EventNotification e:
                reply.Event = new EmittedEvent { Name = e.Name };
                reply.Event.Env.Add(e.Environment);
                break;
            case StateChangeNotification s:
                reply.StateChange = new StateChange
                {
                    Job = s.Job, Instance = s.Instance, Goal = ToProto(s.Goal), FromState = ToProto(s.From), ToState = ToProto(s.To),
                };
                break;
            case DroppedNotification d:
                reply.Dropped = (ulong)d.Count;
                break;
        }
        return reply;
    }
}
