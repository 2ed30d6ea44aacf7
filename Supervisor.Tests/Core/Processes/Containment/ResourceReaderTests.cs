using NUnit.Framework;
using Supervisor.Core.Processes.Containment;

namespace Supervisor.Tests.Core.Processes.Containment;

/// <summary>The figures of show and top from fake cgroup and /proc files: the controllers' files where they exist, else the processes summed.</summary>
[TestFixture]
public sealed class ResourceReaderTests
{
    private string _root = "";
    private string Proc => Path.Join(_root, "proc");
    private string Group => Path.Join(_root, "cg");
    private static readonly long Hz = Math.Max(1, Supervisor.Core.Interop.Libc.SysConf(Supervisor.Core.Interop.Libc._SC_CLK_TCK));

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("usage-").FullName;
        Directory.CreateDirectory(Group);
        File.WriteAllText(Path.Join(Group, "cgroup.procs"), "100\n200\n");
        File.WriteAllText(Path.Join(Group, "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
        // Two processes: 1 s and 0.5 s of CPU (in clock ticks), 10 and 20 resident pages, peaks 100 and 300 KiB.
        Process(100, utime: Hz, stime: 0, resident: 10, hwmKib: 100, io: (4096, 8192));
        Process(200, utime: Hz / 4, stime: Hz / 4, resident: 20, hwmKib: 300, io: (1, 2));
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private void Process(int pid, long utime, long stime, long resident, long hwmKib, (long Read, long Write) io, char state = 'S')
    {
        var dir = Path.Join(Proc, pid.ToString());
        Directory.CreateDirectory(dir);
        // pid (comm with ) and spaces) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        File.WriteAllText(Path.Join(dir, "stat"), $"{pid} (a) b) {state} 1 {pid} {pid} 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 12345 0 0\n");
        File.WriteAllText(Path.Join(dir, "statm"), $"1000 {resident} 5 1 0 50 0\n");
        File.WriteAllText(Path.Join(dir, "status"), $"Name:\ta\nVmPeak:\t  9999 kB\nVmHWM:\t  {hwmKib} kB\nVmRSS:\t  1 kB\n");
        File.WriteAllText(Path.Join(dir, "io"), $"rchar: 1\nwchar: 2\nread_bytes: {io.Read}\nwrite_bytes: {io.Write}\n");
    }

    [Test]
    public void Without_controllers_a_cgroup_gives_its_core_figures_and_the_processes_sums()
    {
        var usage = ResourceReader.FromCgroup(Group, Proc);

        var page = Environment.SystemPageSize;
        Assert.That(usage, Is.EqualTo(new ResourceUsage(2, 30 * page, 400 * 1024, 2_500_000, 4097, 8194, "cgroup")));
    }

    [Test]
    public void The_controllers_files_win_where_they_exist()
    {
        File.WriteAllText(Path.Join(Group, "pids.current"), "7\n");
        File.WriteAllText(Path.Join(Group, "memory.current"), "1048576\n");
        File.WriteAllText(Path.Join(Group, "memory.peak"), "2097152\n");
        File.WriteAllText(Path.Join(Group, "io.stat"), "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");

        Assert.That(ResourceReader.FromCgroup(Group, Proc), Is.EqualTo(new ResourceUsage(7, 1_048_576, 2_097_152, 2_500_000, 101, 202, "cgroup")));
    }

    [Test]
    public void Processes_are_summed_skipping_the_gone_and_the_zombies()
    {
        Process(300, utime: 99 * Hz, stime: 0, resident: 1000, hwmKib: 1000, io: (1, 1), state: 'Z');

        var usage = ResourceReader.FromProcesses([100, 200, 300, 999], Proc);

        Assert.That(usage.Tasks, Is.EqualTo(2));
        Assert.That(usage.CpuUsec, Is.EqualTo(1_500_000).Within(1_000_000 / Hz));
        Assert.That(usage.MemoryBytes, Is.EqualTo(30L * Environment.SystemPageSize));
        Assert.That(usage.MemoryPeakBytes, Is.EqualTo(400 * 1024));
        Assert.That(usage.Source, Is.EqualTo("processes"));
    }

    [Test]
    public void Unreadable_io_is_unknown_not_zero()
    {
        File.Delete(Path.Join(Proc, "100", "io"));
        File.Delete(Path.Join(Proc, "200", "io"));

        var usage = ResourceReader.FromProcesses([100, 200], Proc);

        Assert.That((usage.IoReadBytes, usage.IoWriteBytes), Is.EqualTo(((long?)null, (long?)null)));
    }
}
