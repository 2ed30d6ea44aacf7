namespace Supervisor.Core.Processes;

/// <summary>How a process ended: an exit code, or the signal that killed it.</summary>
public readonly record struct ExitStatus(int Code, int Signal, bool CoreDumped = false)
{
    public static ExitStatus Exited(int code) => new(code, 0);
    public static ExitStatus Killed(int signal, bool coreDumped = false) => new(0, signal, coreDumped);

    public bool IsSignal => Signal != 0;
    public bool IsSuccess => Signal == 0 && Code == 0;

    /// <summary>"exited with status 3", "killed by signal SEGV (core dumped)".</summary>
    public override string ToString() => IsSignal
        ? $"killed by signal {Signals.Name(Signal)}{(CoreDumped ? " (core dumped)" : "")}"
        : $"exited with status {Code}";
}

/// <summary>A reaped child: posted by the reaper to the supervisor loop.</summary>
public readonly record struct ChildExit(int Pid, ExitStatus Status);
