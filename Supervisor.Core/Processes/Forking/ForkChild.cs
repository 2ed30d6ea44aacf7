using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Forking;

/// <summary>A prepared line for the status pipe: <c>KIND\tSTANZA\tMESSAGE\t</c>, to which the child adds an errno and a newline.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChildLine
{
    public byte* Bytes;
    public int Length;
}

[StructLayout(LayoutKind.Sequential)]
internal struct ChildLimit
{
    public long Resource;
    public ulong Soft, Hard;
    public ChildLine Fail;
}

/// <summary>
/// Everything the child of one fork-server spawn needs, in native memory the server filled before the clone: the
/// child reads it and calls syscall(2), nothing else. A pointer that is null and a flag that is 0 mean "not asked".
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChildPlan
{
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<long, long, long, long, long, long, long, long, long> Syscall;
    /// <summary>The vfork-style clone (<see cref="VforkTrampoline"/>), or null: the server forks.</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<long, ChildPlan*, nint, long> Vfork;
    /// <summary>
    /// With the vfork clone, the server's socket to supd (else -1): the child sends supd the answer, its pid, before
    /// anything else, since the server can only answer once the child has exec'd; <see cref="Answer"/> is its buffer.
    /// </summary>
    public int AnswerFd, Answer;
    /// <summary>The server thread's errno (the child is a copy of that thread, so it is the child's too).</summary>
    public int* Errno;
    public Syscalls Numbers;
    /// <summary>Signal masks: every signal (blocked around the clone), the server's own (restored after), none (the job's).</summary>
    public ulong AllSignals, SavedSignals, NoSignals;
    /// <summary>A kernel struct sigaction for SIG_DFL (all zero): handler, flags, restorer, mask.</summary>
    public fixed long DefaultAction[4];
    public fixed byte Digits[24];

    /// <summary>The status pipe's write end (it becomes fd 3), stdout's and stderr's (-1: /dev/null; the same fd: shared).</summary>
    public int StatusFd, OutFd, ErrFd;
    public byte* DevNull;

    public byte* CgroupProcs; // the instance's cgroup.procs, joined before anything else (by writing "0")
    public ChildLine Zero;
    public ChildLine CgroupFail;
    public int SetUmask;
    public uint Umask;
    public int SetNice, Nice;
    public ChildLine NiceWarn;
    public byte* OomFile; // /proc/self/oom_score_adj
    public ChildLine OomValue, OomWarn;
    public byte* Chroot;
    public ChildLine ChrootFail;
    public byte* Chdir;
    public ChildLine ChdirFail;
    public int SetGroups, GroupCount;
    public uint* Groups;
    public ChildLine GroupsFail;
    public int SetGid;
    public uint Gid;
    public ChildLine GidFail;
    public ChildLimit* Limits;
    public int LimitCount;
    public int SetUid;
    public uint Uid;
    public ChildLine UidFail;
    public ChildLine ExecLine;
    public byte* File;
    public byte** Argv, Envp;
    public ChildLine ExecFail;
}

/// <summary>
/// The fork server's clone and the child's whole life until execve: what posix_spawn gives a job (a new session,
/// default signals, nothing blocked, stdin on /dev/null, stdout and stderr, no other fd) and then what the exec helper
/// gives it, in the helper's order (cgroup, umask, nice, oom score, chroot, chdir, groups, gid, limits, uid), each
/// failure or refused hint written to the status pipe exactly as the helper writes it.
/// </summary>
/// <remarks>
/// The child runs as one thread of a running .NET process: on its memory and stack (the vfork clone of
/// <see cref="VforkTrampoline"/>, while the server thread waits for the child's exec), or on a copy of them (the fork,
/// where there is no trampoline). It must not allocate, throw, take a lock, touch a static field or call into the
/// runtime or libc beyond syscall(2), which it reaches through a function pointer resolved before the clone: the
/// other threads, and whatever they held, did not come along, and with shared memory whatever it wrote would be the
/// server's. It writes only below the server thread's stack pointer, its errno and the plan's line buffers. Every
/// method here is compiled before the first clone (<see cref="Prepare"/>) and kept out of tiering, so none is compiled
/// in a child; a JIT server also runs without W^X, whose code memory is a memfd mapped twice (a forked child patching a
/// call stub on its first call wrote into the server's code). The clone has CLONE_PARENT: the job is the server's
/// sibling, supd's child, reaped by supd's reaper. Signals stay blocked from before the clone until the child has put
/// every handler back to default (its handler table is its own: no CLONE_SIGHAND), so no handler of the server's
/// runtime ever runs in it. A suspension of every thread (a garbage collection, or a JIT runtime installing tiered
/// code) begun by another thread during the clone would meet the child at its first GC poll (the compiler puts one
/// after each call through the syscall pointer): a forked child would wait there forever; a vfork child would take
/// part as the server's own thread, whose stack through the trampoline the collector cannot walk. So the thread that
/// clones is the server's only allocating one (no concurrent GC, a JIT server without tiering: ForkServerClient), and
/// before a vfork clone the server lets its finalizer thread, the only other, finish whatever a past collection gave
/// it (<c>GC.WaitForPendingFinalizers</c>): then nothing can allocate until the child has exec'd. A vfork child sends
/// supd its pid before anything else: a step that hangs before the exec (a chdir into a dead NFS mount) then holds the
/// server, not supd, and the report timeout ends the child as a silent helper's; a request sent to the server
/// meanwhile is not answered in time, which fails that spawn and replaces the server.
/// </remarks>
internal static unsafe class ForkChild
{
    private const long CLONE_VM = 0x00000100, CLONE_VFORK = 0x00004000, CLONE_PARENT = 0x00008000, SIGCHLD = 17;
    private const long SIG_SETMASK = 2, SigSetBytes = 8;
    private const long AT_FDCWD = -100;
    private const long PRIO_PROCESS = 0;
    private const long PR_SET_DUMPABLE = 4;

    /// <summary>
    /// True where a JIT compiles this process's code (NativeAOT compiles none at run time). Not
    /// RuntimeFeature.IsDynamicCodeSupported: a project that publishes NativeAOT has it false in its JIT builds too.
    /// </summary>
    public static bool UnderJit { get; } = System.Runtime.JitInfo.GetCompiledMethodCount() > 0;

    /// <summary>Compiles every method of the child before the first clone (a JIT runtime; NativeAOT has them already).</summary>
    public static void Prepare()
    {
        if (!UnderJit) return;
        foreach (var method in typeof(ForkChild).GetMethods(System.Reflection.BindingFlags.Static |
                     System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic |
                     System.Reflection.BindingFlags.DeclaredOnly))
            RuntimeHelpers.PrepareMethod(method.MethodHandle);
    }

    /// <summary>Clones the child, which runs the plan; the job's pid, or -errno when the clone failed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static long Clone(ChildPlan* plan)
    {
        var call = plan->Syscall;
        ref var n = ref plan->Numbers;
        call(n.RtSigprocmask, SIG_SETMASK, (long)&plan->AllSignals, (long)&plan->SavedSignals, SigSetBytes, 0, 0, 0);
        long pid, error;
        if (plan->Vfork != null)
        {
            // The child runs Run from inside the trampoline; this thread waits there until the child has exec'd (or
            // exited), then has the raw system call's result: a pid, or -errno.
            pid = plan->Vfork(CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD, plan, (nint)(delegate*<ChildPlan*, void>)&Run);
            error = pid < 0 ? -pid : 0;
            // The child's setuid or setgid marked the memory it shares with the server as not dumpable (the kernel
            // does that on a change of credentials): that was the child's protection until its exec, not the server's.
            if (pid > 0) call(n.Prctl, PR_SET_DUMPABLE, 1, 0, 0, 0, 0, 0);
        }
        else
        {
            pid = call(n.Clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0, 0, 0);
            if (pid == 0) Run(plan);
            error = pid < 0 ? *plan->Errno : 0;
        }
        call(n.RtSigprocmask, SIG_SETMASK, (long)&plan->SavedSignals, 0, SigSetBytes, 0, 0, 0);
        return pid < 0 ? -error : pid;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Run(ChildPlan* p)
    {
        var call = p->Syscall;
        ref var n = ref p->Numbers;
        // First, so that nothing slow below (a chdir into an automounted home, a binary on a slow mount) holds supd,
        // which waits for the answer under its reaper's lock: from here on the report timeout covers this child.
        if (p->AnswerFd >= 0)
        {
            p->Answer = (int)call(n.GetPid, 0, 0, 0, 0, 0, 0, 0);
            call(n.Write, p->AnswerFd, (long)&p->Answer, sizeof(int), 0, 0, 0, 0);
        }
        for (long signal = 1; signal <= 64; signal++)
            call(n.RtSigaction, signal, (long)p->DefaultAction, 0, SigSetBytes, 0, 0, 0); // SIGKILL, SIGSTOP: refused, harmless
        call(n.SetSid, 0, 0, 0, 0, 0, 0, 0);

        // stdio and the status pipe. Every fd the server received is above 3 (0-2 and its socket are open), so no
        // dup3 here overwrites a source still to come.
        // The status pipe closes at the job's execve (close-on-exec): its end of file tells supd the exec happened.
        if (call(n.Dup3, p->StatusFd, 3, OpenCloseOnExec, 0, 0, 0, 0) < 0) Exit(p);
        if (!OnNull(p, 0, 0)) Fail(p, p->ExecFail);
        if (p->OutFd >= 0 ? call(n.Dup3, p->OutFd, 1, 0, 0, 0, 0, 0) < 0 : !OnNull(p, 1, 1)) Fail(p, p->ExecFail);
        if (p->ErrFd >= 0 ? call(n.Dup3, p->ErrFd, 2, 0, 0, 0, 0, 0) < 0 : !OnNull(p, 2, 1)) Fail(p, p->ExecFail);
        if (call(n.CloseRange, 4, uint.MaxValue, 0, 0, 0, 0, 0) < 0)
            for (long fd = 4; fd < 1024; fd++) call(n.Close, fd, 0, 0, 0, 0, 0, 0); // before Linux 5.9

        // First of all, before the job's program exists: whatever it forks starts inside the instance's cgroup.
        if (p->CgroupProcs != null && !WriteFile(p, p->CgroupProcs, p->Zero.Bytes, p->Zero.Length)) Fail(p, p->CgroupFail);
        call(n.RtSigprocmask, SIG_SETMASK, (long)&p->NoSignals, 0, SigSetBytes, 0, 0, 0);

        if (p->SetUmask != 0) call(n.Umask, p->Umask, 0, 0, 0, 0, 0, 0);
        if (p->SetNice != 0 && call(n.SetPriority, PRIO_PROCESS, 0, p->Nice, 0, 0, 0, 0) < 0) Say(p, p->NiceWarn);
        if (p->OomFile != null && !WriteFile(p, p->OomFile, p->OomValue.Bytes, p->OomValue.Length)) Say(p, p->OomWarn);
        if (p->Chroot != null && call(n.Chroot, (long)p->Chroot, 0, 0, 0, 0, 0, 0) < 0) Fail(p, p->ChrootFail);
        if (p->Chdir != null && call(n.Chdir, (long)p->Chdir, 0, 0, 0, 0, 0, 0) < 0) Fail(p, p->ChdirFail);
        if (p->SetGroups != 0 && call(n.SetGroups, p->GroupCount, (long)p->Groups, 0, 0, 0, 0, 0) < 0) Fail(p, p->GroupsFail);
        if (p->SetGid != 0 && call(n.SetGid, p->Gid, 0, 0, 0, 0, 0, 0) < 0) Fail(p, p->GidFail);
        for (var i = 0; i < p->LimitCount; i++)
        {
            var limit = p->Limits + i;
            if (call(n.Prlimit64, 0, limit->Resource, (long)&limit->Soft, 0, 0, 0, 0) < 0) Fail(p, limit->Fail);
        }
        if (p->SetUid != 0 && call(n.SetUid, p->Uid, 0, 0, 0, 0, 0, 0) < 0) Fail(p, p->UidFail);

        call(n.Write, 3, (long)p->ExecLine.Bytes, p->ExecLine.Length, 0, 0, 0, 0);
        call(n.Execve, (long)p->File, (long)p->Argv, (long)p->Envp, 0, 0, 0, 0);
        Fail(p, p->ExecFail);
    }

    // /dev/null on fd target (flags: 0 read, 1 write).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static bool OnNull(ChildPlan* p, long target, long flags)
    {
        var call = p->Syscall;
        var fd = call(p->Numbers.OpenAt, AT_FDCWD, (long)p->DevNull, flags | OpenCloseOnExec, 0, 0, 0, 0);
        if (fd < 0) return false;
        var ok = call(p->Numbers.Dup3, fd, target, 0, 0, 0, 0, 0) >= 0;
        call(p->Numbers.Close, fd, 0, 0, 0, 0, 0, 0);
        return ok;
    }

    // O_CLOEXEC (for openat and dup3): the same on x86_64 and arm64.
    private const long OpenCloseOnExec = 0x80000;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static bool WriteFile(ChildPlan* p, byte* path, byte* bytes, int length)
    {
        var call = p->Syscall;
        var fd = call(p->Numbers.OpenAt, AT_FDCWD, (long)path, 1 | OpenCloseOnExec, 0, 0, 0, 0);
        if (fd < 0) return false;
        var written = call(p->Numbers.Write, fd, (long)bytes, length, 0, 0, 0, 0);
        var error = *p->Errno;
        call(p->Numbers.Close, fd, 0, 0, 0, 0, 0, 0);
        *p->Errno = error;
        return written == length;
    }

    // The prepared line, this errno and a newline, in one write (a pipe takes up to 4 KiB at once).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Say(ChildPlan* p, ChildLine line)
    {
        var error = *p->Errno;
        var digits = p->Digits;
        var end = 24;
        digits[--end] = (byte)'\n';
        do
        {
            digits[--end] = (byte)('0' + error % 10);
            error /= 10;
        } while (error > 0 && end > 0);
        var call = p->Syscall;
        var bytes = line.Bytes;
        // The line was made with room for the digits after it (ForkServer.Line).
        for (var i = end; i < 24; i++) bytes[line.Length + i - end] = digits[i];
        call(p->Numbers.Write, 3, (long)bytes, line.Length + 24 - end, 0, 0, 0, 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Fail(ChildPlan* p, ChildLine line)
    {
        Say(p, line);
        Exit(p);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Exit(ChildPlan* p)
    {
        while (true) p->Syscall(p->Numbers.ExitGroup, 127, 0, 0, 0, 0, 0, 0);
    }
}
