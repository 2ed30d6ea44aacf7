using NUnit.Framework;
using System.Text;
using Supervisor.Core;
using Supervisor.Core.Logs;
using Supervisor.Core.Processes;

namespace Supervisor.Tests.Core.Logs;

[TestFixture]
public sealed class OutputTailTests
{
    [Test]
    public void Keeps_the_last_lines_across_chunk_boundaries_and_passes_every_byte_on()
    {
        var inner = new Collect();
        var tail = new OutputTail(inner, lines: 3);
        var text = string.Concat(Enumerable.Range(1, 20).Select(i => $"line {i}\n")) + "unfinished";
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < bytes.Length; i += 7) tail.Write(bytes.AsSpan(i, Math.Min(7, bytes.Length - i)));

        Assert.That(tail.Lines(), Is.EqualTo(new[] { "line 19", "line 20", "unfinished" }));
        Assert.That(Encoding.UTF8.GetString(inner.Bytes.ToArray()), Is.EqualTo(text));
    }

    [Test]
    public void Cuts_an_overlong_line_and_completes_when_the_pipe_ends()
    {
        var tail = new OutputTail(null);
        tail.Write(Encoding.UTF8.GetBytes(new string('x', 10_000) + "\nshort\r\n"));
        Assert.That(tail.Completion.IsCompleted, Is.False);
        ((IOutputSink)tail).Completed();

        var lines = tail.Lines();
        Assert.That(lines[0], Has.Length.EqualTo(Limits.MaxFailureLineBytes + 2).And.EndWith(" …"));
        Assert.That(lines[1], Is.EqualTo("short"));
        Assert.That(tail.Completion.IsCompleted, Is.True);
    }

    [Test]
    public void With_a_stderr_tail_the_last_lines_of_both_come_in_the_order_read_and_completion_waits_for_both()
    {
        var errors = new OutputTail(null, lines: 3);
        var tail = new OutputTail(null, lines: 3) { Errors = errors };
        tail.Write(Encoding.UTF8.GetBytes("starting\n"));
        errors.Write(Encoding.UTF8.GetBytes("warning: no cache\n"));
        tail.Write(Encoding.UTF8.GetBytes("listening\n"));
        errors.Write(Encoding.UTF8.GetBytes("fatal: port taken\nexit"));

        Assert.That(tail.Lines(), Is.EqualTo(new[] { "listening", "fatal: port taken", "exit" }), "the last 3 of both, unfinished last");
        ((IOutputSink)tail).Completed();
        Assert.That(tail.Completion.IsCompleted, Is.False, "stderr's pipe is still open");
        ((IOutputSink)errors).Completed();
        Assert.That(tail.Completion.IsCompleted, Is.True);
    }

    private sealed class Collect : IOutputSink
    {
        public List<byte> Bytes { get; } = [];
        public void Write(ReadOnlySpan<byte> data) => Bytes.AddRange(data.ToArray());
    }
}
