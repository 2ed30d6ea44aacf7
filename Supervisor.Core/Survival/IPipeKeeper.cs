namespace Supervisor.Core.Survival;

/// <summary>
/// Holds the read ends of job output pipes outside supd so they outlive a crash of supd: the jobs get no SIGPIPE,
/// what they write while no supd runs waits in the pipe, and the next supd takes the pipes back
/// (<see cref="TakeRecovered"/>). <see cref="PipeKeeper.Open"/> chooses the implementation.
/// </summary>
/// <remarks>
/// Keep and Forget are called on the supervision loop and never block: each is queued (bounded, see
/// <see cref="PipeKeeper.MaxPendingOperations"/>) and sent from a thread of the keeper's own; what cannot be queued
/// or sent is counted in <see cref="Failures"/> and logged (the first, then every 100th). Names are the caller's,
/// <c>[A-Za-z0-9._-]{1,64}</c> (<see cref="PipeKeeper.IsValidName"/>); any other is refused and counted.
/// Dispose without Release is Detach: what was kept stays kept (a killed supd's keeps stay kept too: what was sent
/// waits in the holder's socket or is in systemd's store already).
/// </remarks>
public interface IPipeKeeper : IDisposable
{
    /// <summary>One line for supd's log and <c>supctl version</c>: "systemd's file descriptor store",
    /// "fd holder (pid 1234, /run/supd/fdholder.sock)", "none (WHY)".</summary>
    string Description { get; }

    /// <summary>False for the keeper that keeps nothing (<see cref="NullPipeKeeper"/>).</summary>
    bool IsActive { get; }

    /// <summary>
    /// Once, at start: name → fd kept by an earlier supd (close-on-exec set, now owned by the caller, still kept
    /// until <see cref="Forget"/>); empty when nothing was kept, and on every later call.
    /// </summary>
    IReadOnlyDictionary<string, int> TakeRecovered();

    /// <summary>Keeps a duplicate of <paramref name="fd"/> under <paramref name="name"/> (replacing one of that name).
    /// Never blocks; the caller may close its fd right after.</summary>
    void Keep(string name, int fd);

    /// <summary>The pipe ended (end of file) or its instance did: let it go. Never blocks.</summary>
    void Forget(string name);

    /// <summary>Clean stop of supd: let go of everything (the holder exits, the store is emptied). Blocks at most ~2 s.</summary>
    void Release();

    /// <summary>supd exits on purpose leaving its jobs running: keep everything, send what is queued. Blocks at most ~2 s.</summary>
    void Detach();

    /// <summary>Keeps and forgets that were refused, could not be queued, or failed to send.</summary>
    long Failures { get; }
}
