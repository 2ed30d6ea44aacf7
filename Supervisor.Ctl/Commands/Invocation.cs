namespace Supervisor.Ctl.Commands;

/// <summary>
/// How supctl was invoked. Linked as <c>initctl</c>, <c>start</c>, <c>stop</c>, <c>restart</c>, <c>reload</c> or
/// <c>status</c> it behaves as Upstart's tools of those names (spec §10): the link name is the verb, and errors are
/// prefixed with it (<c>start: Job is already running: nagios</c>). supd puts such links first in every job's PATH,
/// so job scripts written for Upstart (<c>stop; exit 0</c> in a pre-start) reach the right daemon.
/// </summary>
internal static class Invocation
{
    private static readonly string[] VerbLinks = ["start", "stop", "restart", "reload", "status"];

    /// <summary>The name errors are prefixed with: supctl, initctl or the verb link's name.</summary>
    public static string ProgramName { get; private set; } = "supctl";

    /// <summary>The arguments as supctl's verbs expect them.</summary>
    public static string[] Rewrite(string[] args)
    {
        var name = InvokedName();
        if (VerbLinks.Contains(name))
        {
            ProgramName = name;
            return [name, .. args];
        }
        if (name == "initctl") ProgramName = name;
        return args;
    }

    /// <summary>
    /// The job a verb acts on. Without one, inside a job process, the calling job and instance
    /// (<c>$UPSTART_JOB</c>, <c>$UPSTART_INSTANCE</c>); such a request never waits (it would wait on itself).
    /// </summary>
    public static (string Job, string? Instance, bool FromEnvironment)? Target(string? job)
    {
        if (!string.IsNullOrEmpty(job)) return (job, null, false);
        var calling = Environment.GetEnvironmentVariable("UPSTART_JOB");
        if (string.IsNullOrEmpty(calling)) return null;
        return (calling, Environment.GetEnvironmentVariable("UPSTART_INSTANCE") ?? "", true);
    }

    // argv[0] as the kernel got it (the apphost's own argv, not the managed entry point's). Its first 4 KiB read into
    // the stack: File.ReadAllBytes of a /proc file (no size known) cost a tenth of a short call.
    private static string InvokedName()
    {
        try
        {
            using var cmdline = File.OpenHandle("/proc/self/cmdline");
            Span<byte> buffer = stackalloc byte[4096];
            var read = buffer[..RandomAccess.Read(cmdline, buffer, 0)];
            var end = read.IndexOf((byte)0);
            return end < 0 ? "supctl" : Path.GetFileName(System.Text.Encoding.UTF8.GetString(read[..end]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "supctl";
        }
    }
}
