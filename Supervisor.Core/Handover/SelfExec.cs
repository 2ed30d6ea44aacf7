using System.Text;
using Supervisor.Core.Interop;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Handover;

/// <summary>
/// supd replacing its own image (execve: same pid, so its children stay its children and a service manager sees no
/// restart). What crosses is what has no close-on-exec flag: the descriptors named here, and nothing else supd holds.
/// </summary>
public static unsafe class SelfExec
{
    /// <summary>The flag that passes the handover memfd to the new image.</summary>
    public const string HandoverFlag = "--handover";

    /// <summary>
    /// The environment supd was started with (/proc/self/environ): the new image's, and the probe's. Without
    /// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES: the new image keeps the pid, so it would take the fds systemd passed
    /// the first image (long since taken, <see cref="Survival.ListenFds"/>) for whatever now has those numbers.
    /// </summary>
    public static string[] Environment() =>
        Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/environ")).TrimEnd('\0').Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Where(entry => !Survival.ListenFds.IsListenVariable(entry)).ToArray();

    /// <summary>supd's own arguments, as Main got them (without the launcher: dotnet and the dll, or the binary) and without <c>--handover FD</c>.</summary>
    public static List<string> OwnArguments() => WithoutHandover(System.Environment.GetCommandLineArgs().Skip(1));

    private static List<string> WithoutHandover(IEnumerable<string> words)
    {
        var list = words.ToList();
        var result = new List<string>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == HandoverFlag && i + 1 < list.Count)
            {
                i++;
                continue;
            }
            result.Add(list[i]);
        }
        return result;
    }

    /// <summary>
    /// This process's argv (/proc/self/cmdline), without a <c>--handover FD</c> an earlier re-exec added: the JIT
    /// build's is <c>dotnet supd.dll ARGS</c>, the native one's <c>supd ARGS</c>.
    /// </summary>
    public static IReadOnlyList<string> CommandLine()
    {
        var raw = File.ReadAllBytes("/proc/self/cmdline");
        return WithoutHandover(Encoding.UTF8.GetString(raw).TrimEnd('\0').Split('\0'));
    }

    /// <summary>
    /// Replaces this image with <paramref name="path"/> run as <paramref name="argv"/>, in the same environment, the
    /// descriptors in <paramref name="keep"/> inherited. Returns only on failure, with why (the descriptors are then
    /// close-on-exec again).
    /// </summary>
    public static string Exec(string path, IReadOnlyList<string> argv, IReadOnlyList<int> keep)
    {
        string[] environment;
        try
        {
            environment = Environment();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read /proc/self/environ: {e.Message}";
        }
        foreach (var fd in keep)
        {
            if (!Libc.SetCloseOnExec(fd, false))
            {
                var error = $"descriptor {fd} cannot be handed over: {Errno.Last.Message}";
                Restore(keep);
                return error;
            }
        }
        using var file = new NativeString(path);
        using var args = new NativeStringArray(argv);
        using var envp = new NativeStringArray(environment);
        // The mask of this thread (a pool thread's) would be the new image's: start it with none blocked.
        byte* mask = stackalloc byte[Libc.SigSetSize];
        Libc.SigEmptySet(mask);
        Libc.PthreadSigmask(Libc.SIG_SETMASK, mask, null);
        Libc.Execve(file.Pointer, args.Pointer, envp.Pointer);
        var failure = $"execve {path}: {Errno.Last.Message}";
        Restore(keep);
        return failure;
    }

    private static void Restore(IReadOnlyList<int> keep)
    {
        foreach (var fd in keep) Libc.SetCloseOnExec(fd, true);
    }
}
