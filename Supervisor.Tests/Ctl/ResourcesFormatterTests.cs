extern alias ctl;
using NUnit.Framework;
using ctl::Supervisor.Ctl.Formatting;
using ctl::Supervisor.Protocol;

namespace Supervisor.Tests.Ctl;

/// <summary>show's Tasks/Memory/CPU/IO rows and top's table, in systemctl status's units.</summary>
[TestFixture]
public sealed class ResourcesFormatterTests
{
    [TestCase(0L, "0B")]
    [TestCase(1023L, "1023B")]
    [TestCase(1536L, "1.5K")]
    [TestCase(3L * 1024 * 1024 + 104858, "3.1M")]
    [TestCase(5L << 30, "5.0G")]
    public void Sizes_are_written_as_systemd_writes_them(long bytes, string text) =>
        Assert.That(ResourcesFormatter.Size(bytes), Is.EqualTo(text));

    [TestCase(87_400L, "87ms")]
    [TestCase(1_234_000L, "1.234s")]
    [TestCase(123_456_000L, "2min 3.456s")]
    [TestCase(3_720_000_000L, "1h 2min")]
    public void Cpu_time_is_written_as_systemd_writes_it(long usec, string text) =>
        Assert.That(ResourcesFormatter.Cpu(usec), Is.EqualTo(text));

    [Test]
    public void Show_gets_a_row_per_figure_and_io_only_when_known()
    {
        var resources = new Resources { Tasks = 3, MemoryBytes = 1536 * 1024, MemoryPeakBytes = 2 << 20, CpuUsec = 1_234_000, Source = "cgroup" };
        Assert.That(ResourcesFormatter.Rows(resources), Is.EqualTo(new[] { ("Tasks", "3"), ("Memory", "1.5M (peak: 2.0M)"), ("CPU", "1.234s") }));

        resources.HasIo = true;
        resources.IoReadBytes = 4096;
        resources.IoWriteBytes = 0;
        Assert.That(ResourcesFormatter.Rows(resources).Last(), Is.EqualTo(("IO", "4.0K read, 0B written")));
    }

    [Test]
    public void Top_has_a_row_per_job_with_dashes_where_nothing_runs()
    {
        var rows = new[]
        {
            new ResourcesFormatter.TopRow("web", "start/running", 4825, 12.345, new Resources { Tasks = 2, MemoryBytes = 3 << 20 }, 1, TimeSpan.FromSeconds(75)),
            new ResourcesFormatter.TopRow("cron", "stop/waiting", 0, null, null, 0, null),
        };

        Assert.That(ResourcesFormatter.Table(rows), Is.EqualTo(new[]
        {
            "JOB   STATE                 PID   CPU%   MEMORY TASKS RESTARTS  UPTIME",
            "web   start/running        4825   12.3     3.0M     2        1  1min 15s",
            "cron  stop/waiting            -      -        -     -        0  -",
        }));
    }
}
