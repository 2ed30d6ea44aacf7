namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// The figures of a running job for <c>show</c> and <c>top</c>: from the cgroup of its main process when it has one
/// of supd's, else summed over its processes (the main's process group and the main's descendants), found in one
/// scan of /proc shared by every job of a request. Runs in the request's handler, never on the loop.
/// </summary>
public sealed class JobResources(IJobContainment containment)
{
    private ProcessTree? _tree;

    public ResourceUsage? Of(int mainPid)
    {
        if (mainPid <= 1) return null;
        if (containment.GroupOf(mainPid) is { } group) return ResourceReader.FromCgroup(group);
        _tree ??= ProcessTree.Scan();
        return _tree.JobProcesses(mainPid) is { Count: > 0 } pids ? ResourceReader.FromProcesses(pids) : null;
    }
}

/// <summary>Parent and process group of every live process, from one read of /proc.</summary>
internal sealed class ProcessTree
{
    private readonly Dictionary<int, List<int>> _children = [];
    private readonly Dictionary<int, List<int>> _groups = [];
    private readonly Dictionary<int, int> _groupOf = [];

    public static ProcessTree Scan()
    {
        var tree = new ProcessTree();
        foreach (var pid in ProcFs.Pids())
        {
            if (ProcFs.Stat(pid) is not { State: not 'Z' } info) continue;
            Add(tree._children, info.ParentPid, pid);
            Add(tree._groups, info.ProcessGroup, pid);
            tree._groupOf[pid] = info.ProcessGroup;
        }
        return tree;
    }

    /// <summary>The main process, its process group and every descendant of either.</summary>
    public List<int> JobProcesses(int mainPid)
    {
        if (!_groupOf.TryGetValue(mainPid, out var group)) return [];
        var seen = new HashSet<int> { mainPid };
        var next = new Queue<int>([mainPid]);
        if (group > 1)
            foreach (var member in _groups.GetValueOrDefault(group) ?? [])
                if (seen.Add(member)) next.Enqueue(member);
        while (next.TryDequeue(out var parent))
            foreach (var child in _children.GetValueOrDefault(parent) ?? [])
                if (seen.Add(child)) next.Enqueue(child);
        return [.. seen];
    }

    private static void Add(Dictionary<int, List<int>> map, int key, int pid) =>
        (map.TryGetValue(key, out var list) ? list : map[key] = []).Add(pid);
}
