using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Forking;

namespace Supervisor.Tests.Core.Processes;

/// <summary>The fork server's request: one message, bounded, and nothing but a well-formed one accepted.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ForkRequestTests
{
    private static readonly string[] Words =
        ["--exec-helper", "--umask", "22", "--chdir", "/srv", "--uid", "65534", "--", "/bin/sh", "/bin/sh", "-c", "echo é"];

    [Test]
    public void A_request_comes_back_as_it_was_sent()
    {
        var request = new ForkRequest(Words, ["PATH=/bin", "EMPTY=", "UNICODE=ü"], ForkOutput.Fd, ForkOutput.SameAsOut);
        var decoded = ForkRequest.Decode(request.Encode());
        Assert.That(decoded, Is.Not.Null);
        Assert.That(decoded!.HelperArguments, Is.EqualTo(Words));
        Assert.That(decoded.Environment, Is.EqualTo(new[] { "PATH=/bin", "EMPTY=", "UNICODE=ü" }));
        Assert.That((decoded.Out, decoded.Err, decoded.OutputFds), Is.EqualTo((ForkOutput.Fd, ForkOutput.SameAsOut, 1)));
    }

    [Test]
    public void A_request_past_the_bound_or_with_a_nul_is_not_made()
    {
        Assert.That(new ForkRequest(Words, ["BIG=" + new string('x', Limits.MaxForkRequestBytes)], ForkOutput.Null, ForkOutput.Null).Encode(), Is.Null);
        Assert.That(new ForkRequest(Words, ["A=b\0c"], ForkOutput.Null, ForkOutput.Null).Encode(), Is.Null);
    }

    [Test]
    public void Anything_but_a_whole_request_is_refused()
    {
        var good = new ForkRequest(Words, ["A=1"], ForkOutput.Fd, ForkOutput.Fd).Encode()!;
        Assert.That(ForkRequest.Decode(good[..^1]), Is.Null, "the last string cut");
        Assert.That(ForkRequest.Decode(good[..11]), Is.Null, "the header cut");
        var tooMany = (byte[])good.Clone();
        tooMany[8] = 200; // more environment entries than strings
        Assert.That(ForkRequest.Decode(tooMany), Is.Null);
        var negative = (byte[])good.Clone();
        negative[7] = 0x80; // a negative count
        Assert.That(ForkRequest.Decode(negative), Is.Null);
        var version = (byte[])good.Clone();
        version[0] = 9;
        Assert.That(ForkRequest.Decode(version), Is.Null);
        var output = (byte[])good.Clone();
        output[1] = (byte)ForkOutput.SameAsOut; // only stderr can share
        Assert.That(ForkRequest.Decode(output), Is.Null);
    }

    [Test]
    public void The_helpers_words_parse_alike_for_both_ways_and_bad_numbers_are_refused()
    {
        var options = ExecHelperOptions.Parse([.. Words.Take(7), "--limit", "nofile:1024:unlimited", "--groups", "1,2", .. Words.Skip(7)], out var error);
        Assert.That(options, Is.Not.Null, error);
        Assert.That((options!.Umask, options.Chdir, options.Uid, options.File), Is.EqualTo(((uint?)18, "/srv", (uint?)65534, "/bin/sh")));
        Assert.That(options.Arguments, Is.EqualTo(new[] { "/bin/sh", "-c", "echo é" }));
        Assert.That(options.Groups, Is.EqualTo(new uint[] { 1, 2 }));
        Assert.That(options.Limits.Single().Hard, Is.EqualTo(ulong.MaxValue));

        Assert.That(ExecHelperOptions.Parse(["--exec-helper", "--uid", "nobody", "--", "/bin/true", "true"], out error), Is.Null);
        Assert.That(error, Is.EqualTo("exec helper: --uid nobody: not a number"));
        Assert.That(ExecHelperOptions.Parse(["--exec-helper", "--umask", "99", "--", "/bin/true", "true"], out _), Is.Null);
        Assert.That(ExecHelperOptions.Parse(["--exec-helper", "--chroot", "/srv/root", "--", "/bin/true", "true"], out _)!.Chdir, Is.EqualTo("/"));
        Assert.That(ExecHelperOptions.Parse(["--exec-helper", "--umask", "22"], out error), Is.Null);
        Assert.That(error, Is.EqualTo("exec helper: no program given"));
    }
}
