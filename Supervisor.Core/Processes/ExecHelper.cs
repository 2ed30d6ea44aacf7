using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

/// <summary>
/// Overview: the exec helper is supd itself started as <c>supd --exec-helper OPTIONS -- FILE ARGV…</c> by posix_spawn,
/// for job processes that need what posix_spawn cannot set (limits, umask, nice, oom score, chroot, credentials).
/// posix_spawn has already given it the job's session, signal state, stdio, environment and working directory;
/// the helper applies the rest in Upstart's order (spec §6: rlimits, umask, nice, oom score, chroot, chdir,
/// initgroups, setgid, setuid) and execve's the job, so the job keeps the helper's pid. Before all of it, a contained
/// job's helper writes itself into the instance's cgroup (<c>--cgroup DIR</c>): glibc 2.36 has no
/// posix_spawnattr_setcgroup_np, and a move after the spawn would let what the job forks first escape.
///
/// Protocol: fd 3 of the helper is the write end of a status pipe. The helper marks it close-on-exec first thing,
/// then writes one line per event, <c>KIND\tSTANZA\tMESSAGE\n</c>:
/// <c>warn</c> (a hint, nice or oom score, the kernel refused; the helper carries on), <c>fail</c> (a hard failure;
/// the helper exits 127 without running the job) and <c>exec</c> (written just before execve). A successful
/// execve closes the pipe, so supd reads to end of file: the last line <c>exec</c> means the job runs, <c>fail</c>
/// means the spawn failed with that message, and nothing at all means the helper died before it could report. The
/// reaper reads it (<see cref="HelperReports"/>), so nothing waits for the helper.
///
/// Which binary: <c>supd-exec</c> beside supd when it is there (a small NativeAOT program that does only this, ~7 ms
/// from spawn to exec, against ~30 ms for supd's 14 MB image, whose start-up relocates and rehydrates far more), else
/// supd itself in helper mode.
/// </summary>
public static class ExecHelper
{
    public const string Flag = "--exec-helper";

    /// <summary>The fd the status pipe arrives on in the helper.</summary>
    internal const int StatusFd = 3;

    /// <summary>
    /// Environment variables supd adds for the helper's runtime (the helper removes them before exec): where the
    /// runtime is, if supd was told, and no tiered PGO, which only slows a process that lives 40 ms.
    /// </summary>
    internal static IEnumerable<(string Name, string? Value)> RuntimeVariables()
    {
        yield return ("DOTNET_ROOT", Environment.GetEnvironmentVariable("DOTNET_ROOT"));
        yield return ("DOTNET_TieredPGO", "0");
    }

    /// <summary>The exec helper's own binary, installed beside supd.</summary>
    public const string BinaryName = "supd-exec";

    /// <summary>
    /// How to start the exec helper: <see cref="BinaryName"/> beside the running binary when it is there (the native
    /// install), else the running binary itself (<see cref="Environment.ProcessPath"/>), or <c>dotnet supd.dll</c> when
    /// supd runs under the dotnet host, in helper mode.
    /// </summary>
    public static IReadOnlyList<string> DefaultCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("supd cannot find its own binary");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet" && Assembly.GetEntryAssembly()?.GetName().Name is { } name)
            return [process, Path.Combine(AppContext.BaseDirectory, name + ".dll")];
        var beside = Path.Combine(Path.GetDirectoryName(process) ?? "/", BinaryName);
        return IsExecutableFile(beside) ? [beside] : [process];
    }

    private static bool IsExecutableFile(string path)
    {
        try
        {
            return File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True when the settings need more than posix_spawn (relative to supd's own <paramref name="umask"/>).</summary>
    public static bool IsNeeded(ProcessSettings settings, Credentials credentials, int umask) =>
        settings.Umask != umask || settings.Nice is not null || settings.OomScore is not null ||
        settings.Limits.Count > 0 || settings.Chroot is not null || credentials.ChangesIds;

    /// <summary>The helper's argv (after <paramref name="command"/>) and the variables to add to its environment.</summary>
    internal static (List<string> Argv, List<string> ExtraEnvironment) BuildCommand(
        IReadOnlyList<string> command, ProcessSettings settings, Credentials credentials, string workingDirectory,
        string file, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, string? cgroup = null)
    {
        var argv = new List<string>(command) { Flag };
        if (cgroup is not null) argv.AddRange(["--cgroup", cgroup]);
        foreach (var (name, limit) in settings.Limits)
            argv.AddRange(["--limit", $"{name}:{Format(limit.Soft)}:{Format(limit.Hard)}"]);
        argv.AddRange(["--umask", Convert.ToString(settings.Umask, 8)]);
        if (settings.Nice is { } nice) argv.AddRange(["--nice", nice.ToString(CultureInfo.InvariantCulture)]);
        if (settings.OomScore is { } oom) argv.AddRange(["--oom", oom.ToString(CultureInfo.InvariantCulture)]);
        if (settings.Chroot is { } root) argv.AddRange(["--chroot", root]);
        argv.AddRange(["--chdir", workingDirectory]);
        if (credentials.Groups is { } groups) argv.AddRange(["--groups", string.Join(',', groups)]);
        if (credentials.Gid is { } gid) argv.AddRange(["--gid", gid.ToString(CultureInfo.InvariantCulture)]);
        if (credentials.Uid is { } uid) argv.AddRange(["--uid", uid.ToString(CultureInfo.InvariantCulture)]);

        var extra = new List<string>();
        foreach (var (name, value) in RuntimeVariables())
        {
            if (value is null) continue;
            if (environment.Any(e => e.StartsWith(name + "=", StringComparison.Ordinal))) continue;
            extra.Add($"{name}={value}");
            argv.AddRange(["--strip-env", name]);
        }
        argv.Add("--");
        argv.Add(file);
        argv.AddRange(arguments);
        return (argv, extra);
    }

    private static string Format(ulong? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "unlimited";

    /// <summary>
    /// The helper itself, called first thing in supd's Main: applies the settings and execs the job; returns only
    /// when it could not (the exit status, 127).
    /// </summary>
    /// <remarks>
    /// Resource limits are set last, just before setuid and execve, not first as Upstart's fork child did: the
    /// helper is a running .NET process, and a limit such as <c>as</c> or <c>data</c> below what the runtime has
    /// reserved would make its next allocation fail. So everything the last steps need (argv, envp, the status
    /// line, the P/Invoke stubs) is prepared before, and nothing after setrlimit allocates. They still come before
    /// setuid, so root can raise a hard limit for the job.
    /// </remarks>
    public static unsafe int Run(string[] args)
    {
        Libc.Fcntl(StatusFd, Libc.F_SETFD, Libc.FD_CLOEXEC);
        if (ExecHelperOptions.Parse(args, out var parseError, out var parseStanza) is not { } options)
            return Fail(parseStanza, parseError);

        // First of all, before the job's program exists: whatever it forks starts inside the instance's cgroup.
        if (options.Cgroup is { } cgroup && !Containment.CgroupFiles.Join(cgroup, 0, out var joinError))
            return Fail("cgroup", $"unable to join the job's cgroup {cgroup}: {joinError}");

        // Everything execve needs, prepared while the process can still allocate freely.
        using var file = new NativeString(options.File);
        using var argv = new NativeStringArray(options.Arguments);
        var envp = Environ(options.StripEnvironment);
        var execLine = Encoding.UTF8.GetBytes("exec\t\t\n");
        var cannotRun = $"cannot run {options.File}: ";

        if (options.Umask is { } umask) Libc.Umask(umask);
        if (options.Nice is { } nice && Libc.SetPriority(Libc.PRIO_PROCESS, 0, nice) != 0)
            Warn($"nice {nice}", Errno.Last.Message);
        if (options.OomScore is { } oom && !WriteOomScore(oom, out var oomError))
            Warn($"oom score {oom}", oomError);
        if (options.Chroot is { } chroot)
        {
            using var root = new NativeString(chroot);
            if (Libc.Chroot(root.Pointer) != 0)
                return Fail("chroot", $"unable to change root directory: {chroot}: {Errno.Last.Message}");
        }
        if (options.Chdir is { } chdir)
        {
            using var dir = new NativeString(chdir);
            if (Libc.Chdir(dir.Pointer) != 0)
                return Fail("chdir", $"unable to change working directory: {chdir}: {Errno.Last.Message}");
        }
        if (options.Groups is { } groups)
        {
            fixed (uint* g = groups)
                if (Libc.SetGroups((nuint)groups.Length, g) != 0)
                    return Fail("setuid", $"unable to initgroups: {Errno.Last.Message}");
        }
        if (options.Gid is { } newGid && Libc.SetGid(newGid) != 0)
            return Fail("setgid", $"unable to setgid: {Errno.Last.Message}");

        // The job gets every signal at its default and none blocked, as from posix_spawn. A handled signal goes back
        // to its default at execve by itself, an ignored one stays ignored: this runtime ignores SIGPIPE (and glibc's
        // signal 32), so those are put back. Only those: the runtime's own handlers (its GC suspends threads with a
        // signal) must stay while it runs. The raw rt_sigaction, since glibc's refuses the signals it keeps for itself.
        var actions = stackalloc long[8]; // two kernel struct sigactions (handler, flags, restorer, mask): SIG_DFL, and the current one
        new Span<long>(actions, 8).Clear();
        if (Syscalls.ForThisMachine(out var numbers))
        {
            for (var signal = 1; signal <= 64; signal++)
                if (Libc.Syscall(numbers.RtSigaction, signal, 0, (long)(actions + 4), 8) == 0 && actions[4] == 1 /* SIG_IGN */)
                    Libc.Syscall(numbers.RtSigaction, signal, (long)actions, 0, 8);
        }
        else Libc.Signal(13 /* SIGPIPE */, Libc.SIG_DFL);
        var noSignals = stackalloc byte[Libc.SigSetSize];
        Libc.SigEmptySet(noSignals);
        Libc.PthreadSigMask(Libc.SIG_SETMASK, noSignals, null);

        // Compile the stubs of the last calls now: harmless calls that fail without effect.
        Libc.Write(StatusFd, null, 0);
        Libc.SetUid(uint.MaxValue);
        Libc.Execve(null, null, null);
        Libc.RLimit probe;
        Libc.GetRLimit(Libc.RLIMIT_NOFILE, &probe);
        foreach (var limit in options.Limits)
        {
            var l = new Libc.RLimit { Current = limit.Soft, Maximum = limit.Hard };
            if (Libc.SetRLimit(limit.Resource, &l) != 0)
                return Fail("limit", $"unable to set \"{limit.Name}\" resource limit: {Errno.Last.Message}");
        }
        if (options.Uid is { } newUid && Libc.SetUid(newUid) != 0)
            return Fail("setuid", $"unable to setuid: {Errno.Last.Message}");

        fixed (byte* line = execLine) Libc.Write(StatusFd, line, (nuint)execLine.Length);
        Libc.Execve(file.Pointer, argv.Pointer, envp);
        return Fail("exec", cannotRun + Errno.Last.Message);
    }

    private static bool WriteOomScore(string value, out string error)
    {
        error = "";
        try
        {
            File.WriteAllText("/proc/self/oom_score_adj", value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET reports EACCES/EPERM as UnauthorizedAccessException ("Access to the path … is denied").
            error = e is UnauthorizedAccessException ? new Errno(Errno.EACCES).Message : e.Message;
            return false;
        }
    }

    // The environment posix_spawn gave us (the job's), in its order, minus what supd added for the runtime.
    private static unsafe byte** Environ(List<string> strip)
    {
        var environ = *(byte***)NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "environ");
        if (strip.Count == 0) return environ;
        var kept = new List<nint>();
        for (var p = environ; *p != null; p++)
        {
            var entry = new string((sbyte*)*p);
            if (!strip.Any(s => entry.StartsWith(s, StringComparison.Ordinal))) kept.Add((nint)(*p));
        }
        var result = (byte**)NativeMemory.Alloc((nuint)(kept.Count + 1), (nuint)sizeof(byte*));
        for (var k = 0; k < kept.Count; k++) result[k] = (byte*)kept[k];
        result[kept.Count] = null;
        return result;
    }

    private static void Warn(string stanza, string message) => WriteStatus("warn", stanza, message);

    private static int Fail(string stanza, string message)
    {
        WriteStatus("fail", stanza, message);
        return 127;
    }

    private static unsafe void WriteStatus(string kind, string stanza, string message)
    {
        var line = Encoding.UTF8.GetBytes($"{kind}\t{stanza}\t{message.Replace('\n', ' ')}\n");
        fixed (byte* p = line)
        {
            var written = 0;
            while (written < line.Length)
            {
                var n = Libc.Write(StatusFd, p + written, (nuint)(line.Length - written));
                if (n < 0 && Errno.Last.Value == Errno.EINTR) continue;
                if (n <= 0) return;
                written += (int)n;
            }
        }
    }
}
