using System.Globalization;
using System.Text;
using Supervisor.Core.Interop;

namespace Supervisor.Core.Processes;

// expect fork/daemon without ptrace: the daemon a job's first process leaves behind is re-parented to supd (a child
// subreaper). Where the start has a cgroup, it is one of the cgroup's processes (nothing else can be in it: only root
// writes cgroup.procs, and whatever the job forks starts inside); without one, it carries the job's tag in its
// environment and is found through /proc. Either way it is tracked by pidfd from then on.
public sealed partial class NativeProcessControl
{
    public ProcessInfo? Inspect(int pid) => ProcFs.Stat(pid);

    public IReadOnlyList<int> FindAdopted(string key, string value, ulong startedNotBefore)
    {
        var self = Environment.ProcessId;
        // The start's cgroup, when it has one (the unit's key is its tag): its few pids rather than every process on
        // the machine, and a daemon that cleared its environment is found all the same.
        var group = key == Events.EventIds.ProcessVariables.SupdTag ? Containment.Group(value) : null;
        var (keyBytes, valueBytes) = (Encoding.UTF8.GetBytes(key + "="), Encoding.UTF8.GetBytes(value));
        var found = new List<int>();
        foreach (var pid in group is not null ? Processes.Containment.CgroupFiles.Procs(group) : ProcFs.Pids())
        {
            if (ProcFs.Stat(pid) is not { } info || info.ParentPid != self || info.State == 'Z') continue;
            if (info.StartTime < startedNotBefore) continue; // older than the job's first process: planted, not its daemon
            if (_reaper.Owns(pid)) continue;
            if (group is not null || ProcFs.EnvironmentContains(pid, keyBytes, valueBytes)) found.Add(pid);
        }
        return found;
    }

    public bool Adopt(int pid) => _reaper.Adopt(pid);

    public bool AdoptForeign(int pid) => _reaper.AdoptForeign(pid);
}
