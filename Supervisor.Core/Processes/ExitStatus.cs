namespace Supervisor.Core.Processes;

/// <summary>How a process ended: an exit code, or the signal that killed it.</summary>
/// <param name="OutOfMemory">Killed by the kernel's OOM killer in its cgroup: the limit that ran out ("memory max 64M"),
/// or "" when none is known; null for any other end.</param>
public readonly record struct ExitStatus(int Code, int Signal, bool CoreDumped = false, string? OutOfMemory = null)
{
    public static ExitStatus Exited(int code) => new(code, 0);
    public static ExitStatus Killed(int signal, bool coreDumped = false) => new(0, signal, coreDumped);

    public bool IsSignal => Signal != 0;
    public bool IsSuccess => Signal == 0 && Code == 0;

    /// <summary>"exited with status 3", "killed by signal SEGV (core dumped)", "out of memory (memory max 64M)".</summary>
    public override string ToString() => OutOfMemory is { } limit
        ? limit.Length > 0 ? $"out of memory ({limit})" : "out of memory"
        : IsSignal
            ? $"killed by signal {Signals.Name(Signal)}{(CoreDumped ? " (core dumped)" : "")}"
            : $"exited with status {Code}";
}

/// <summary>A reaped child: posted by the reaper to the supervisor loop.</summary>
public readonly record struct ChildExit(int Pid, ExitStatus Status);
