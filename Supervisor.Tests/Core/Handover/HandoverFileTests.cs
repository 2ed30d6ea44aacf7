using NUnit.Framework;
using Supervisor.Core.Handover;
using Supervisor.Core.State;

namespace Supervisor.Tests.Core.Handover;

/// <summary>
/// The handover state in its memfd: what one image writes the next reads back whole, and anything it could not rely on
/// (another format or boot, a standard stream named as a descriptor, an instance between states) is refused with why.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class HandoverFileTests
{
    private static readonly string Boot = ProcStat.BootId();

    private static HandedInstance Instance(string state = "running", int fd = 40) => new(
        "web", "", state, 1234, 1234, 99, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch,
        [new HandedVariable("PORT", "80"), new HandedVariable("NOTE", "from alice", Untrusted: true)], [new HandedVariable("A", "1")], true,
        "tag", new HandedRespawns(3, 12345, 1, 2), 1500, false,
        [new HandedPipe("main", false, fd, false, Convert.ToBase64String("half a li"u8.ToArray()))], "/sys/fs/cgroup/supd/web.3");

    [Test]
    public void What_is_written_is_read_back_whole_from_the_memfd()
    {
        var state = new HandoverState { BootId = Boot, Generation = 4, ListenFd = 7, LockFd = 8, Instances = [Instance()] };
        var fd = HandoverFile.Write(state);

        var read = HandoverFile.Read(fd, Boot, out var error);

        Assert.That(error, Is.Null);
        Assert.That(read, Is.Not.Null);
        Assert.That(read!.Generation, Is.EqualTo(4));
        Assert.That((read.ListenFd, read.LockFd), Is.EqualTo((7, 8)));
        var instance = read.Instances.Single();
        Assert.That(instance with { StartVariables = [], EnvFileValues = [], Pipes = [] }, Is.EqualTo(Instance() with { StartVariables = [], EnvFileValues = [], Pipes = [] }));
        Assert.That(instance.StartVariables, Is.EqualTo(Instance().StartVariables));
        Assert.That(instance.Pipes.Single(), Is.EqualTo(Instance().Pipes.Single()));
    }

    [Test]
    public void A_state_over_the_limit_is_refused_by_its_size_before_it_is_read()
    {
        var path = Path.GetTempFileName();
        try
        {
            // Sparse: past Limits.MaxHandoverBytes without writing a byte of it.
            using (var file = File.OpenWrite(path)) file.SetLength(Supervisor.Core.Limits.MaxHandoverBytes + 1);
            var fd = Supervisor.Core.Interop.Libc.Open(path, Supervisor.Core.Interop.Libc.O_RDONLY | Supervisor.Core.Interop.Libc.O_CLOEXEC);
            Assert.That(fd, Is.GreaterThanOrEqualTo(3));

            Assert.That(HandoverFile.Read(fd, Boot, out var error), Is.Null);
            Assert.That(error, Is.EqualTo($"the handover state is {Supervisor.Core.Limits.MaxHandoverBytes + 1} bytes, more than {Supervisor.Core.Limits.MaxHandoverBytes}"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(2, "handover format 2 is not one this supd reads (1)")]
    public void Another_format_is_refused(int version, string why) =>
        Assert.That(HandoverFile.Check(new HandoverState { Version = version, BootId = Boot }, Boot), Is.EqualTo(why));

    [Test]
    public void A_state_from_another_boot_is_refused() =>
        Assert.That(HandoverFile.Check(new HandoverState { BootId = "other" }, Boot), Is.EqualTo("the handover state is from another boot"));

    [Test]
    public void A_standard_stream_or_a_shared_descriptor_is_refused()
    {
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, ListenFd = 1 }, Boot), Does.Contain("standard stream"));
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, Instances = [Instance(fd: 2)] }, Boot), Does.Contain("output pipe without a descriptor"));
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, Instances = [Instance(fd: 40), Instance(fd: 40) with { Job = "db", Tag = "tag2" }] }, Boot),
            Does.Contain("db: an output pipe without a descriptor of its own"));
    }

    [Test]
    public void An_instance_handed_twice_a_bad_pending_line_or_deadline_or_a_cgroup_with_dots_is_refused()
    {
        HandoverState With(params HandedInstance[] instances) => new() { BootId = Boot, Instances = instances };
        Assert.That(HandoverFile.Check(With(Instance(fd: 40), Instance(fd: 41)), Boot), Is.EqualTo("web: handed over twice"));
        Assert.That(HandoverFile.Check(With(Instance() with { Pipes = [new HandedPipe("main", false, 40, true, "not base64!")] }), Boot),
            Does.Contain("not base64"));
        Assert.That(HandoverFile.Check(With(Instance() with { DeadlineMs = long.MaxValue }), Boot), Does.Contain("a deadline"));
        Assert.That(HandoverFile.Check(With(Instance() with { Cgroup = "/sys/fs/cgroup/supd/../../etc" }), Boot), Does.Contain("cgroup path"));
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, ListenFd = 9, LockFd = 9 }, Boot), Does.Contain("one descriptor twice"));
    }

    [Test]
    public void An_instance_between_states_or_with_pid_1_is_refused()
    {
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, Instances = [Instance("stopping")] }, Boot), Is.EqualTo("web: handed over in state stopping"));
        Assert.That(HandoverFile.Check(new HandoverState { BootId = Boot, Instances = [Instance() with { MainPid = 1 }] }, Boot), Is.EqualTo("web: pid 1 cannot be a job's"));
    }

    [Test]
    public void Garbage_is_refused_with_a_line()
    {
        var fd = HandoverFile.Write(new HandoverState { BootId = Boot });
        // Overwritten with something that is not the state at all.
        using (var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false)) RandomAccess.Write(handle, "{\"version\": \"x\"}"u8, 0);
        Assert.That(HandoverFile.Read(fd, Boot, out var error), Is.Null);
        Assert.That(error, Does.StartWith("the handover state is not valid"));
    }

    [TestCase("supd handover formats: 1\n", new[] { 1 })]
    [TestCase("supd handover formats: 1 2", new[] { 1, 2 })]
    [TestCase("supd: unrecognized option '--handover-formats'", new int[0])]
    [TestCase("supd handover formats: one", new int[0])]
    [TestCase("", new int[0])]
    public void The_formats_a_binary_names_are_read_from_its_first_line(string text, int[] formats) =>
        Assert.That(HandoverFile.ParseFormats(text), Is.EqualTo(formats));
}
