using System.Collections.Frozen;
using Supervisor.Core.Access;
using Supervisor.Protocol;

namespace Supervisor.Daemon.Access;

/// <summary>What one RPC is to access control: the verb rules and messages name it by, and the right it needs.</summary>
public sealed record MethodAccess(string Verb, AccessRight Right)
{
    /// <summary>
    /// Every RPC of the service by its path (<c>/supd.v1.Supervisor/ReloadConfiguration</c>), from the <c>(verb)</c> and
    /// <c>(right)</c> method options in protos/supervisor.proto: the API says what each call needs, and this is built
    /// once from the generated descriptor (no reflection).
    /// </summary>
    public static FrozenDictionary<string, MethodAccess> Table { get; } = Build(Supervisor.Protocol.Supervisor.Descriptor);

    /// <summary>The access of the method at <paramref name="path"/>; one the service does not declare needs admin (fail closed).</summary>
    public static MethodAccess For(string path) =>
        Table.TryGetValue(path, out var access) ? access : new MethodAccess(path[(path.LastIndexOf('/') + 1)..], AccessRight.Admin);

    public static FrozenDictionary<string, MethodAccess> Build(Google.Protobuf.Reflection.ServiceDescriptor service) =>
        service.Methods.ToFrozenDictionary(
            method => $"/{service.FullName}/{method.Name}",
            method =>
            {
                var options = method.GetOptions();
                var verb = options?.GetExtension(SupervisorExtensions.Verb) is { Length: > 0 } v ? v : method.Name;
                return new MethodAccess(verb, ToCore(options?.GetExtension(SupervisorExtensions.Right) ?? Supervisor.Protocol.Right.Unspecified));
            },
            StringComparer.Ordinal);

    /// <summary>The proto's right as Core's; unspecified (a method without the option) needs admin.</summary>
    public static AccessRight ToCore(Supervisor.Protocol.Right right) => right switch
    {
        Supervisor.Protocol.Right.Read => AccessRight.Read,
        Supervisor.Protocol.Right.Control => AccessRight.Control,
        _ => AccessRight.Admin,
    };
}
