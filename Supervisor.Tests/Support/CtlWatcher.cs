using System.Diagnostics;
using NUnit.Framework;

namespace Supervisor.Tests.Support;

/// <summary>
/// A supctl that keeps running (<c>events -f</c>, <c>log -f</c>), started as a user's shell would start it (SIGINT at
/// its default: <c>env --default-signal</c>), its stdout and stderr lines collected as they come; ended on dispose.
/// </summary>
public sealed class CtlWatcher : IDisposable
{
    private readonly List<string> _lines = [];
    private readonly List<string> _errors = [];

    private CtlWatcher(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) _lines.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_errors) _errors.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static CtlWatcher Start(SupdHarness supd, params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { "--default-signal=INT", Binaries.Supctl, "--socket", supd.Socket }.Concat(args)) info.ArgumentList.Add(arg);
        return new CtlWatcher(Process.Start(info)!);
    }

    public Process Process { get; }

    /// <summary>Its stdout, line by line.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return _lines.ToArray(); }
    }

    /// <summary>Its stderr, each line ended by a newline.</summary>
    public string Errors
    {
        get { lock (_errors) return string.Concat(_errors.Select(l => l + "\n")); }
    }

    /// <summary>
    /// For an <c>events -f</c> follower: emits <paramref name="name"/> through supd until the follower prints it. A
    /// follower shows only events emitted after it (re)connected, so one it prints proves it is subscribed.
    /// </summary>
    public Task EmitUntilSeenAsync(SupdHarness supd, string name, string what, TimeSpan? timeout = null) =>
        Eventually.GetAsync(async () =>
        {
            var emit = await supd.CtlAsync("emit", name);
            Assert.That(emit.ExitCode, Is.EqualTo(0), emit.ToString());
            return Lines.Any(l => l.Contains(name, StringComparison.Ordinal));
        }, seen => seen, what, timeout);

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.WaitForExit(30_000);
        Process.Dispose();
    }
}
