using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Supervisor.Core.Access;

namespace Supervisor.Daemon.Access;

/// <summary>
/// Kestrel connection middleware: reads who is on the other end of each accepted connection from the kernel
/// (SO_PEERCRED: pid, uid, gid; SO_PEERGROUPS: supplementary groups) and keeps it in the connection's items, where
/// <see cref="AccessInterceptor"/> finds it for every request on that connection. Nothing the client sends is used.
/// </summary>
public static class PeerCredentials
{
    public const string ItemKey = "supd.caller";

    private const int SolSocket = 1, SoPeerCred = 17, SoPeerGroups = 59;

    public static void Capture(IConnectionBuilder connection) => connection.Use(next => context =>
    {
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket) context.Items[ItemKey] = Read(socket);
        return next(context);
    });

    public static Caller Read(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        var pid = MemoryMarshal.Read<int>(ucred);
        var uid = MemoryMarshal.Read<uint>(ucred[4..]);
        var gid = MemoryMarshal.Read<uint>(ucred[8..]);
        return new Caller(uid, gid, Groups(socket), pid, SystemAccounts.Instance.UserName(uid) ?? $"uid {uid}");
    }

    private static uint[] Groups(Socket socket)
    {
        // NGROUPS_MAX is 65536; almost every caller has a handful, so try small first.
        foreach (var count in new[] { 256, 65536 })
        {
            var buffer = new byte[count * sizeof(uint)];
            try
            {
                var length = socket.GetRawSocketOption(SolSocket, SoPeerGroups, buffer);
                return MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, length)).ToArray();
            }
            catch (SocketException)
            {
                // ERANGE: more groups than fit; the larger buffer holds any.
            }
        }
        return [];
    }
}
