using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Forking;

/// <summary>
/// Overview: the fork server is the exec helper kept running (<c>supd-exec --fork-server</c>, or supd itself in that
/// mode), so a job that needs more than posix_spawn can set no longer pays a runtime's start per spawn (~7 ms of CPU
/// for supd-exec). On x86-64 it clones each child as vfork does, sharing its memory until the exec, where a fork of
/// it cost ~2.8 ms more CPU per spawn (docs/BENCHMARKS.md, issue 19).
///
/// Protocol: fd 3 is a SOCK_SEQPACKET socket to supd. The server says it is ready with one answer (0: it forks each
/// child; 1: it clones each as vfork does, see <see cref="VforkTrampoline"/>), then takes
/// one <see cref="ForkRequest"/> at a time and answers each with the pid of the job's process or minus an errno (a
/// vfork clone's child sends its own pid first thing, as the server waits until it has exec'd). The
/// job is cloned with CLONE_PARENT, so it is supd's child: supd's reaper follows it as any spawn, and the server
/// has no children to reap. The job's process reports on its status pipe as the helper does (<see cref="HelperReports"/>).
/// The server ends when supd's end of the socket closes (supd exited, crashed or re-executed).
/// </summary>
public static class ForkServer
{
    public const string Flag = "--fork-server";

    /// <summary>The fd the socket to supd arrives on.</summary>
    internal const int SocketFd = 3;

    /// <summary>The server's answer that it is ready and forks each child (never a pid).</summary>
    internal const int Ready = 0;

    /// <summary>
    /// The server's answer that it is ready and clones each child as vfork does (<see cref="VforkTrampoline"/>; never a
    /// job's pid: init's), given only when supd passed <see cref="SayCloneFlag"/>: a supd from before it takes only 0.
    /// </summary>
    internal const int ReadyVfork = 1;

    /// <summary>After <see cref="Flag"/>: supd takes <see cref="ReadyVfork"/> as a ready answer.</summary>
    public const string SayCloneFlag = "--say-clone";

    public static unsafe int Run(string[] args)
    {
        Libc.Fcntl(SocketFd, Libc.F_SETFD, Libc.FD_CLOEXEC);
        if (!Syscalls.ForThisMachine(out var numbers)) return 2;
        var libc = NativeLibrary.Load("libc.so.6");
        var syscall = NativeLibrary.GetExport(libc, "syscall");
        // errno of this thread, the one that clones: the child, a copy of it, finds its own errno at the same address.
        var errno = ((delegate* unmanaged<int*>)NativeLibrary.GetExport(libc, "__errno_location"))();
        var vfork = VforkTrampoline.Create();
        ForkChild.Prepare();
        if (!Answer(vfork != null && args.Contains(SayCloneFlag) ? ReadyVfork : Ready)) return 1;

        var buffer = new byte[Limits.MaxForkRequestBytes + 1];
        var fds = new List<int>();
        while (true)
        {
            fds.Clear();
            var received = Libc.ReceiveWithFds(SocketFd, buffer, fds, out var truncated);
            if (received <= 0)
            {
                foreach (var fd in fds) Libc.Close(fd);
                return received == 0 ? 0 : 1;
            }
            int answer;
            try
            {
                answer = truncated ? -7 /* E2BIG */ : Serve(buffer.AsSpan(0, received), fds, numbers, syscall, errno, vfork);
            }
            finally
            {
                foreach (var fd in fds) Libc.Close(fd);
            }
            // A vfork clone's child sent its pid itself (every other answer is minus an errno).
            var answered = vfork != null && answer > 0;
            if (!answered && !Answer(answer)) return 1;
        }
    }

    private static unsafe bool Answer(int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return Libc.SendWithFds(SocketFd, bytes, []) == 0;
    }

    // The answer for supd: the job's pid, or minus an errno.
    private static unsafe int Serve(ReadOnlySpan<byte> message, List<int> fds, Syscalls numbers, nint syscall, int* errno,
        delegate* unmanaged[Cdecl, SuppressGCTransition]<long, ChildPlan*, nint, long> vfork)
    {
        if (ForkRequest.Decode(message) is not { } request || fds.Count != 1 + request.OutputFds) return -Errno.EINVAL;
        if (ExecHelperOptions.Parse(request.HelperArguments, out _) is not { } options) return -Errno.EINVAL;
        // The child moves these onto 0-3: each must stand above them (they do: 0-2 and the socket are open).
        for (var i = 0; i < fds.Count; i++)
        {
            if (fds[i] > SocketFd) continue;
            var above = Libc.DupCloseOnExec(fds[i], SocketFd + 1);
            if (above < 0) return -Errno.EMFILE;
            Libc.Close(fds[i]);
            fds[i] = above;
        }
        using var arena = new NativeArena();
        var plan = Plan(arena, options, request, numbers, syscall, errno);
        plan->Vfork = vfork;
        plan->AnswerFd = vfork != null ? SocketFd : -1;
        plan->StatusFd = fds[0];
        plan->OutFd = request.Out == ForkOutput.Fd ? fds[1] : -1;
        plan->ErrFd = request.Err switch
        {
            ForkOutput.Fd => fds[request.Out == ForkOutput.Fd ? 2 : 1],
            ForkOutput.SameAsOut => plan->OutFd,
            _ => -1,
        };
        if (vfork != null) LetFinalizerFinish();
        var pid = ForkChild.Clone(plan);
        return (int)pid;
    }

    // Collections the finalizer thread was last waited for after (-1: none yet).
    private static int s_collectionsWaitedFor = -1;

    // The runtime's finalizer thread, the server's only other one, runs managed code (finalizers, ArrayPool's trim) only
    // after a collection: let it finish now, so that nothing allocates, and no collection can start, while a vfork
    // child runs on this thread's runtime state (ForkChild's remarks). Without a collection since the last wait it has
    // nothing to do, and the wait (a round trip to that thread) is skipped; one that comes during the wait is waited for too.
    private static void LetFinalizerFinish()
    {
        int collections;
        while ((collections = GC.CollectionCount(0)) != s_collectionsWaitedFor)
        {
            GC.WaitForPendingFinalizers();
            s_collectionsWaitedFor = collections;
        }
    }

    private static unsafe ChildPlan* Plan(NativeArena arena, ExecHelperOptions options, ForkRequest request, Syscalls numbers,
        nint syscall, int* errno)
    {
        var plan = (ChildPlan*)arena.Allocate(sizeof(ChildPlan));
        plan->Syscall = (delegate* unmanaged[Cdecl, SuppressGCTransition]<long, long, long, long, long, long, long, long, long>)syscall;
        plan->Errno = errno;
        plan->Numbers = numbers;
        plan->AllSignals = ulong.MaxValue;
        plan->DevNull = arena.String("/dev/null");
        if (options.Cgroup is { } cgroup)
        {
            plan->CgroupProcs = arena.String(Path.Join(cgroup, "cgroup.procs"));
            plan->Zero = arena.Bytes("0");
            plan->CgroupFail = arena.Line("fail", "cgroup", $"unable to join the job's cgroup {cgroup}");
        }
        if (options.Umask is { } umask)
        {
            plan->SetUmask = 1;
            plan->Umask = umask;
        }
        if (options.Nice is { } nice)
        {
            plan->SetNice = 1;
            plan->Nice = nice;
            plan->NiceWarn = arena.Line("warn", $"nice {nice}", "");
        }
        if (options.OomScore is { } oom)
        {
            plan->OomFile = arena.String("/proc/self/oom_score_adj");
            plan->OomValue = arena.Bytes(oom);
            plan->OomWarn = arena.Line("warn", $"oom score {oom}", "");
        }
        if (options.Chroot is { } root)
        {
            plan->Chroot = arena.String(root);
            plan->ChrootFail = arena.Line("fail", "chroot", $"unable to change root directory: {root}");
        }
        if (options.Chdir is { } chdir)
        {
            plan->Chdir = arena.String(chdir);
            plan->ChdirFail = arena.Line("fail", "chdir", $"unable to change working directory: {chdir}");
        }
        if (options.Groups is { } groups)
        {
            plan->SetGroups = 1;
            plan->GroupCount = groups.Length;
            plan->Groups = (uint*)arena.Allocate(Math.Max(1, groups.Length) * sizeof(uint));
            groups.CopyTo(new Span<uint>(plan->Groups, groups.Length));
            plan->GroupsFail = arena.Line("fail", "setuid", "unable to initgroups");
        }
        if (options.Gid is { } gid)
        {
            plan->SetGid = 1;
            plan->Gid = gid;
            plan->GidFail = arena.Line("fail", "setgid", "unable to setgid");
        }
        plan->LimitCount = options.Limits.Count;
        plan->Limits = (ChildLimit*)arena.Allocate(Math.Max(1, options.Limits.Count) * sizeof(ChildLimit));
        for (var i = 0; i < options.Limits.Count; i++)
        {
            var limit = options.Limits[i];
            plan->Limits[i] = new ChildLimit
            {
                Resource = limit.Resource, Soft = limit.Soft, Hard = limit.Hard,
                Fail = arena.Line("fail", "limit", $"unable to set \"{limit.Name}\" resource limit"),
            };
        }
        if (options.Uid is { } uid)
        {
            plan->SetUid = 1;
            plan->Uid = uid;
            plan->UidFail = arena.Line("fail", "setuid", "unable to setuid");
        }
        plan->ExecLine = arena.Bytes("exec\t\t\n");
        plan->File = arena.String(options.File);
        plan->Argv = arena.Strings(options.Arguments);
        plan->Envp = arena.Strings(request.Environment
            .Where(entry => !options.StripEnvironment.Any(strip => entry.StartsWith(strip, StringComparison.Ordinal))).ToList());
        plan->ExecFail = arena.Line("fail", "exec", $"cannot run {options.File}");
        return plan;
    }

    /// <summary>Native memory for one request's plan, all freed together once the child is cloned.</summary>
    private sealed unsafe class NativeArena : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Allocate(int bytes)
        {
            var block = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            _blocks.Add((nint)block);
            return block;
        }

        public byte* String(string text) => Bytes(text + "\0").Bytes;

        public ChildLine Bytes(string text)
        {
            var count = Encoding.UTF8.GetByteCount(text);
            var bytes = Allocate(count + 1);
            Encoding.UTF8.GetBytes(text, new Span<byte>(bytes, count));
            return new ChildLine { Bytes = bytes, Length = count };
        }

        /// <summary>
        /// <c>KIND\tSTANZA\tMESSAGE\t</c> with room after it for the errno and a newline (<see cref="ForkChild"/>).
        /// A tab or a newline in the message would cut the line, so they become spaces, as the helper does.
        /// </summary>
        public ChildLine Line(string kind, string stanza, string message)
        {
            var text = $"{kind}\t{Clean(stanza)}\t{Clean(message)}\t";
            var count = Encoding.UTF8.GetByteCount(text);
            var bytes = Allocate(count + 24);
            Encoding.UTF8.GetBytes(text, new Span<byte>(bytes, count));
            return new ChildLine { Bytes = bytes, Length = count };
        }

        private static string Clean(string text) => text.Replace('\n', ' ').Replace('\t', ' ');

        public byte** Strings(IReadOnlyList<string> values)
        {
            var array = (byte**)Allocate((values.Count + 1) * sizeof(byte*));
            for (var i = 0; i < values.Count; i++) array[i] = String(values[i]);
            return array;
        }

        public void Dispose()
        {
            foreach (var block in _blocks) NativeMemory.Free((void*)block);
            _blocks.Clear();
        }
    }
}
