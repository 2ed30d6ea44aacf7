using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

// fork-server-probe N spawn|fork|helper [SUPD-EXEC]: N spawns of /bin/true, one after another, each waited for.
//   spawn   posix_spawn, as supd spawns a plain job;
//   fork    fork, then only raw syscalls in the child (setresgid, setresuid to nobody, execve): what a fork server
//           would do per request; nothing managed runs in the child, so nothing can allocate or wait on the runtime;
//   helper  posix_spawn of supd-exec --exec-helper --uid 65534, as supd spawns a setuid job today.
// Root only (the credentials). Prints the time per spawn.
if (args.Length < 2 || (args[1] == "helper" && args.Length < 3))
{
    Console.Error.WriteLine("usage: fork-server-probe N spawn|fork|helper [SUPD-EXEC]");
    return 2;
}
var count = int.Parse(args[0], CultureInfo.InvariantCulture);
var mode = args[1];
var clock = Stopwatch.StartNew();
Probe.Run(count, mode, args.Length > 2 ? args[2] : "");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{mode}: {count} spawns in {clock.ElapsedMilliseconds} ms, {clock.Elapsed.TotalMilliseconds / count:F2} ms each"));
return 0;

internal static unsafe class Probe
{
    private const int Nobody = 65534;
    private const long SysSetresuid = 117, SysSetresgid = 119;

    public static void Run(int count, string mode, string helper)
    {
        // Everything the child needs is native memory made before the first fork.
        var target = Strings(["/bin/true"]);
        var viaHelper = Strings([helper, "--exec-helper", "--umask", "22", "--chdir", "/", "--uid", "65534", "--", "/bin/true"]);
        var environment = Strings([]);
        for (var i = 0; i < count; i++)
        {
            int pid;
            if (mode == "fork")
            {
                pid = Fork();
                if (pid == 0)
                {
                    Syscall(SysSetresgid, Nobody, Nobody, Nobody);
                    Syscall(SysSetresuid, Nobody, Nobody, Nobody);
                    Execve(target[0], target, environment);
                    Exit(127);
                }
            }
            else
            {
                var argv = mode == "spawn" ? target : viaHelper;
                if (PosixSpawn(&pid, argv[0], null, null, argv, environment) != 0) throw new InvalidOperationException("posix_spawn failed");
            }
            if (pid < 0) throw new InvalidOperationException("fork failed");
            int status;
            if (WaitPid(pid, &status, 0) != pid || status != 0) throw new InvalidOperationException($"spawn {i}: wait status {status}");
        }
    }

    private static byte** Strings(string[] values)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)values.Length + 1, (nuint)sizeof(nint));
        for (var i = 0; i < values.Length; i++) array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(values[i]);
        return array;
    }

    // SuppressGCTransition: the child must not touch the runtime (a GC mode switch could wait on threads fork left behind).
    [DllImport("libc", EntryPoint = "fork"), SuppressGCTransition]
    private static extern int Fork();

    [DllImport("libc", EntryPoint = "syscall"), SuppressGCTransition]
    private static extern long Syscall(long number, long a, long b, long c);

    [DllImport("libc", EntryPoint = "execve"), SuppressGCTransition]
    private static extern int Execve(byte* path, byte** argv, byte** envp);

    [DllImport("libc", EntryPoint = "_exit"), SuppressGCTransition]
    private static extern void Exit(int status);

    [DllImport("libc", EntryPoint = "waitpid")]
    private static extern int WaitPid(int pid, int* status, int options);

    [DllImport("libc", EntryPoint = "posix_spawn")]
    private static extern int PosixSpawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);
}
