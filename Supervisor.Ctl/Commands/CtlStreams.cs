using System.CommandLine;
using System.Text;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// Where supctl writes: the process's stdout and stderr, or, for one call made in-process (the test suite's JIT
/// flavour runs most supctl calls this way: a supctl process costs ~0.3 s of CPU in the JIT build, and a suite makes
/// hundreds), writers that call alone sees. The choice flows with the call (an <see cref="AsyncLocal{T}"/>), so calls
/// made at once in one process never see each other's output.
/// </summary>
internal static class CtlStreams
{
    private static readonly AsyncLocal<Captured?> Current = new();

    public static TextWriter Out => Current.Value?.Out ?? Console.Out;

    public static TextWriter Error => Current.Value?.Error ?? Console.Error;

    /// <summary>stdout as bytes (a job's log as the job wrote it); the caller disposes it.</summary>
    public static Stream OpenRawOut() => Current.Value is { } captured ? new RawView(captured) : Console.OpenStandardOutput();

    /// <summary>
    /// System.CommandLine's settings for this call: its help and parse errors go where supctl's own lines go; an
    /// in-process call leaves the host's signals alone (a supctl process ends on SIGINT/SIGTERM as the library sets up).
    /// </summary>
    public static InvocationConfiguration Configuration() => Current.Value is null
        ? new InvocationConfiguration()
        : new InvocationConfiguration { Output = Out, Error = Error, ProcessTerminationTimeout = null };

    /// <summary>Runs supctl with <paramref name="args"/> in this process; its exit status, stdout and stderr (UTF-8).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunCapturedAsync(string[] args)
    {
        // Set inside this async method, the value is this call's alone: its caller's context comes back when it returns.
        var captured = new Captured();
        Current.Value = captured;
        var status = await CtlCommandLine.For(args).RunAsync(args).ConfigureAwait(false);
        return (status, Encoding.UTF8.GetString(captured.StdoutBytes.GetBuffer(), 0, (int)captured.StdoutBytes.Length), captured.Error.ToString());
    }

    // stdout is bytes, as a pipe would be: text and raw writes keep their order.
    private sealed class Captured
    {
        public Captured() => Out = new StreamWriter(StdoutBytes, new UTF8Encoding(false)) { AutoFlush = true };

        public MemoryStream StdoutBytes { get; } = new();

        public StreamWriter Out { get; }

        public StringWriter Error { get; } = new();
    }

    // The captured stdout as a stream that does not close it (a process's stdout outlives the verb's `using`).
    private sealed class RawView(Captured captured) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => captured.StdoutBytes.Write(buffer, offset, count);
    }
}
