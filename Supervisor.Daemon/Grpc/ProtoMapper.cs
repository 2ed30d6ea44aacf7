using Supervisor.Core;
using Supervisor.Core.Lifecycle;
using Supervisor.Core.Processes;
using Supervisor.Protocol;

namespace Supervisor.Daemon.Grpc;

/// <summary>Core snapshots to protocol messages, in one place.</summary>
internal static class ProtoMapper
{
    public static JobStatus ToProto(JobStatusSnapshot snapshot)
    {
        var status = new JobStatus
        {
            Job = snapshot.Job,
            Instance = snapshot.Instance,
            Goal = snapshot.Goal.Name(),
            State = snapshot.State.Name(),
            Description = snapshot.Description ?? "",
            SourcePath = snapshot.SourcePath,
            RespawnCount = snapshot.RespawnCount,
            Failure = snapshot.Failure ?? "",
            MainStartedUnixMs = snapshot.MainStarted?.ToUnixTimeMilliseconds() ?? 0,
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
        foreach (var (kind, pid) in snapshot.Processes)
            status.Processes.Add(new Supervisor.Protocol.ProcessInfo { Kind = kind.Name(), Pid = pid });
        if (snapshot.LastExit is { } exit)
        {
            status.LastExit = new ProcessExit
            {
                Process = exit.Process.Name(),
                Pid = exit.Pid,
                ExitStatus = exit.Status is { IsSignal: false } s ? s.Code : 0,
                SignalName = exit.Status is { IsSignal: true } k ? Signals.Name(k.Signal) : "",
                SpawnError = exit.SpawnError ?? "",
                UnixMs = exit.When.ToUnixTimeMilliseconds(),
            };
        }
        return status;
    }

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
                    Job = s.Job, Instance = s.Instance, Goal = s.Goal.Name(), FromState = s.From.Name(), ToState = s.To.Name(),
                };
                break;
            case DroppedNotification d:
                reply.Dropped = (ulong)d.Count;
                break;
        }
        return reply;
    }
}
