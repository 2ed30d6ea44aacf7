namespace Supervisor.Core.Processes;

/// <summary>The processes of a job instance, in initctl's status order.</summary>
public enum ProcessKind { Main, PreStart, PostStart, PreStop, PostStop, Check }

public static class ProcessKindNames
{
    public static string Name(this ProcessKind kind) => kind switch
    {
        ProcessKind.Main => "main",
        ProcessKind.PreStart => "pre-start",
        ProcessKind.PostStart => "post-start",
        ProcessKind.PreStop => "pre-stop",
        ProcessKind.PostStop => "post-stop",
        ProcessKind.Check => "check",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
