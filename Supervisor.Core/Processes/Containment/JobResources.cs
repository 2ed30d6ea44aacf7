namespace Supervisor.Core.Processes.Containment;

/// <summary>
/// The figures of a running job for <c>show</c> and <c>top</c>: from the cgroup of its main process when it has one
/// of supd's, else summed over its processes (the main's process group and the main's descendants). For many jobs
/// (<c>list</c>, <c>top</c>, /metrics) they are found in one scan of /proc shared by every job of the request; for one
/// (<see cref="ForOneJob"/>: <c>status</c>, <c>show</c>) from the job's main down through the kernel's lists of
/// children, which reads a few files however many processes the machine runs. Runs in the request's handler, never on
/// the loop.
/// </summary>
public sealed class JobResources(IJobContainment containment)
{
    private ProcessTree? _tree;
    private IProcessControl? _processes;

    /// <summary>For the figures of one job: its processes are walked to, not scanned for (when supd is a subreaper).</summary>
    public static JobResources ForOneJob(IJobContainment containment, IProcessControl processes) =>
        new(containment) { _processes = processes.IsSubreaper ? processes : null };

    public ResourceUsage? Of(int mainPid)
    {
        if (mainPid <= 1) return null;
        if (containment.GroupOf(mainPid) is { } group) return ResourceReader.FromCgroup(group);
        var pids = _processes is not null && ProcessTree.Walk(mainPid, _processes.IsTracked) is { } walked
            ? walked
            : (_tree ??= ProcessTree.Scan()).JobProcesses(mainPid);
        return pids is { Count: > 0 } ? ResourceReader.FromProcesses(pids) : null;
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

    /// <summary>
    /// The main process, the members of its process group that were re-parented to supd (a subreaper: where every
    /// orphan of a job goes) and every descendant of either, from /proc/PID/task/TID/children; what a scan finds,
    /// without reading every process on the machine. Null where the kernel keeps no such lists or one is longer than
    /// <see cref="Limits.MaxChildrenListBytes"/>: then scan. At most <see cref="Limits.MaxFigureProcesses"/> processes.
    /// </summary>
    /// <param name="tracked">supd's own job processes (every job's main, its scripts): children of supd never of this job's group but its main.</param>
    public static List<int>? Walk(int mainPid, Func<int, bool> tracked)
    {
        if (!ProcFs.HasChildrenLists) return null;
        if (ProcFs.Stat(mainPid) is not { State: not 'Z' } main) return [];
        var found = new List<int> { mainPid };
        var seen = new HashSet<int> { mainPid };
        var children = new List<int>();
        if (main.ProcessGroup > 1)
        {
            if (!ProcFs.Children(Environment.ProcessId, children)) return null;
            foreach (var child in children)
                if (!tracked(child) && ProcFs.Stat(child) is { State: not 'Z' } info && info.ProcessGroup == main.ProcessGroup && seen.Add(child))
                    found.Add(child);
        }
        for (var i = 0; i < found.Count && found.Count < Limits.MaxFigureProcesses; i++)
        {
            children.Clear();
            if (!ProcFs.Children(found[i], children)) return null;
            foreach (var child in children)
                if (found.Count < Limits.MaxFigureProcesses && seen.Add(child)) found.Add(child);
        }
        return found;
    }

    private static void Add(Dictionary<int, List<int>> map, int key, int pid) =>
        (map.TryGetValue(key, out var list) ? list : map[key] = []).Add(pid);
}
