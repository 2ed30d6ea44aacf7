namespace Supervisor.Core.Processes;

/// <summary>How a process ended: an exit code, or the signal that killed it.</summary>
/// <param name="OutOfMemory">Killed by the kernel's OOM killer in its cgroup: the limit that ran out ("memory max 64M"),
/// or "" when none is known; null for any other end.</param>
/// <param name="IsUnknown">The process ended but its status cannot be known: supd adopted it after a restart of supd, so
/// it is not supd's child and its status went to its real parent. Neither a success nor a code.</param>
public readonly record struct ExitStatus(int Code, int Signal, bool CoreDumped = false, string? OutOfMemory = null, bool IsUnknown = false)
{
    public static ExitStatus Exited(int code) => new(code, 0);
    public static ExitStatus Killed(int signal, bool coreDumped = false) => new(0, signal, coreDumped);

    /// <summary>The end of a process supd follows but did not start (<see cref="IsUnknown"/>).</summary>
    public static ExitStatus Unknown { get; } = new(0, 0, IsUnknown: true);

    public bool IsSignal => Signal != 0;
    public bool IsSuccess => !IsUnknown && Signal == 0 && Code == 0;

    /// <summary>"exited with status 3", "killed by signal SEGV (core dumped)", "out of memory (memory max 64M)".</summary>
    public override string ToString() => IsUnknown ? "ended (exit status unknown: adopted after a restart of supd, not its child)"
        : OutOfMemory is { } limit
        ? limit.Length > 0 ? $"out of memory ({limit})" : "out of memory"
        : IsSignal
            ? $"killed by signal {Signals.Name(Signal)}{(CoreDumped ? " (core dumped)" : "")}"
            : $"exited with status {Code}";
}

/// <summary>A reaped child: posted by the reaper to the supervisor loop.</summary>
public readonly record struct ChildExit(int Pid, ExitStatus Status);
