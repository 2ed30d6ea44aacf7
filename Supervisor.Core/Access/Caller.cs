namespace Supervisor.Core.Access;

/// <summary>
/// Who is asking, as the kernel reports the peer of the connection (SO_PEERCRED, SO_PEERGROUPS), never as the client
/// says. <see cref="Name"/> is the passwd name of <see cref="Uid"/>, or "uid N" when it has none.
/// </summary>
public sealed record Caller(uint Uid, uint Gid, IReadOnlyList<uint> Groups, int Pid, string Name)
{
    public bool InGroup(uint gid) => Gid == gid || Groups.Contains(gid);

    /// <summary>"nobody (uid 65534, pid 4242)", for audit lines.</summary>
    public string Describe() => Pid > 0 ? $"{Name} (uid {Uid}, pid {Pid})" : $"{Name} (uid {Uid})";
}
