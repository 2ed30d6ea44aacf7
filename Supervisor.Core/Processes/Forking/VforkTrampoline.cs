using System.Runtime.InteropServices;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes.Forking;

/// <summary>
/// The fork server's clone as vfork(2) does it, with supd as the parent: <c>clone(CLONE_VM | CLONE_VFORK |
/// CLONE_PARENT | SIGCHLD)</c> on the caller's stack. The child shares the server's memory and the server thread waits
/// until the child has exec'd or exited, so nothing is copied at the clone nor torn down at the job's exec (a fork of
/// the server cost ~2.8 ms more CPU per spawn: docs/BENCHMARKS.md, issue 19).
/// </summary>
/// <remarks>
/// The child must not return through any frame the server thread returns through: sharing the stack, its next call
/// would overwrite a return address the server still needs (which is why libc's syscall() cannot make this clone).
/// So the clone is 57 bytes of machine code in a page of their own that, in the child, call the child's code
/// (<see cref="ForkChild"/>'s Run, given as a plain code address) right there, below every frame of the server, and
/// exit_group(127) should it ever return; in the server they return the clone's result. Only for NativeAOT on
/// x86-64: a JIT runtime may still generate or patch stubs as the child's code first runs (a debug build's unmanaged
/// calls go through a helper), which in shared memory would be the server's, so a JIT server forks as before, as
/// does any server where no page may be made executable.
/// </remarks>
internal static unsafe class VforkTrampoline
{
    // long clone_run(long flags, ChildPlan* plan, void (*run)(ChildPlan*)):
    //   push rbx; push r12; push r13 (kept for the caller; three keep the stack 16-byte aligned for the call below)
    //   mov rbx, rsi; mov r12, rdx; xor esi, esi (no new stack); xor edx, edx; xor r10d, r10d; xor r8d, r8d
    //   mov eax, 56 (clone); syscall; test rax, rax; jnz server
    //   mov rdi, rbx; call r12; mov edi, 127; mov eax, 231 (exit_group); syscall
    //   server: pop r13; pop r12; pop rbx; ret
    private static ReadOnlySpan<byte> X64 =>
    [
        0x53, 0x41, 0x54, 0x41, 0x55, 0x48, 0x89, 0xf3, 0x49, 0x89, 0xd4, 0x31, 0xf6, 0x31, 0xd2, 0x45, 0x31, 0xd2,
        0x45, 0x31, 0xc0, 0xb8, 0x38, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x12, 0x48, 0x89, 0xdf,
        0x41, 0xff, 0xd4, 0xbf, 0x7f, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x41, 0x5d, 0x41,
        0x5c, 0x5b, 0xc3,
    ];

    /// <summary>
    /// The trampoline, made once (a page of its own, never freed); null where there is none (a JIT runtime, not x86-64,
    /// no executable page) or <c>SUPD_FORK_SERVER_CLONE=fork</c> asks for the fork. A user shadow stack (Intel CET) is
    /// no obstacle: a vfork child shares it, but only pushes below the server's entries, never returning through them.
    /// </summary>
    public static delegate* unmanaged[Cdecl, SuppressGCTransition]<long, ChildPlan*, nint, long> Create()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || ForkChild.UnderJit) return null;
        if (Environment.GetEnvironmentVariable(DisableVariable) == "fork") return null;
        const nuint pageBytes = 4096;
        var page = Libc.Mmap(0, pageBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (page == Libc.MapFailed) return null;
        X64.CopyTo(new Span<byte>((void*)page, X64.Length));
        if (Libc.Mprotect(page, pageBytes, Libc.PROT_READ | Libc.PROT_EXEC) != 0)
        {
            // A system that forbids executable anonymous memory (SELinux execmem): the fork, as before.
            Libc.Munmap(page, pageBytes);
            return null;
        }
        return (delegate* unmanaged[Cdecl, SuppressGCTransition]<long, ChildPlan*, nint, long>)page;
    }

    /// <summary>Set to <c>fork</c> in the server's environment, the server clones as fork(2) does (a test compares both).</summary>
    public const string DisableVariable = "SUPD_FORK_SERVER_CLONE";
}
