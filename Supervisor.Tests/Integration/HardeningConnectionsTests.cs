using System.Diagnostics;
using System.Globalization;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// Issue 16's connection findings through the real supd: a local user's flood of connections neither locks root out
/// nor starves spawning of fds, and accept failing with EMFILE does not spin.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Category("Hardening")]
[NonParallelizable] // floods and CPU measurement: alone on the machine
public sealed class HardeningConnectionsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    // Opens up to N connections to the socket and holds them until its stdin closes; prints how many it opened.
    private const string FloodScript = """
        use IO::Socket::UNIX; my ($path, $n) = @ARGV; my @held;
        for (1 .. $n) { my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or last; push @held, $c; }
        $| = 1; print scalar(@held), "\n"; <STDIN>;
        """;

    [Test]
    public async Task A_users_connection_flood_neither_locks_root_out_nor_stops_respawns()
    {
        await using var supd = new SupdHarness();
        var config = Path.Combine(supd.Root, "supd.json");
        await File.WriteAllTextAsync(config, """{ "SocketMode": "0666" }""");
        supd.WriteJob("crashy", "respawn\nrespawn limit unlimited\nexec sh -c 'sleep 0.3; exit 1'\n");
        await supd.StartAsync("--config", config);
        Assert.That((await supd.CtlAsync("start", "crashy")).ExitCode, Is.EqualTo(0));
        // A small fd limit, so the reserve is what stops the flood: room for ~100 more fds, a quarter of it kept.
        var open = Directory.GetFiles($"/proc/{supd.SupdPid}/fd").Length;
        await RunAsync("prlimit", "--pid", supd.SupdPid.ToString(CultureInfo.InvariantCulture), $"--nofile={open + 100}:{open + 100}");

        using var flood = StartFlood(supd.Socket, 1000, asNobody: true);
        var opened = int.Parse((await flood.StandardOutput.ReadLineAsync())!, CultureInfo.InvariantCulture);
        TestContext.Out.WriteLine($"flood held {opened} connections at the kernel level");
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("Refused a control connection"), "refusals logged", Long);

        // While the flood holds its connections: root is answered and the job keeps respawning.
        var first = await supd.MainPidAsync("crashy");
        var status = await supd.CtlAsync("status", "crashy");
        Assert.That(status.ExitCode, Is.EqualTo(0), status.ToString());
        await Eventually.GetAsync(() => supd.MainPidAsync("crashy"), pid => pid != 0 && pid != first, "crashy respawned during the flood", Long);
        Assert.That(File.ReadAllText(Path.Combine(supd.LogDir, "supd.log")), Does.Not.Contain("Too many open files"));

        flood.StandardInput.Close();
        await flood.WaitForExitAsync();
        var after = await supd.MainPidAsync("crashy");
        await Eventually.GetAsync(() => supd.MainPidAsync("crashy"), pid => pid != 0 && pid != after, "crashy respawning after the flood", Long);
    }

    [Test]
    public async Task Under_a_low_fd_limit_a_flood_is_refused_without_spinning_and_root_is_answered_after_it()
    {
        // The case: supd under a small RLIMIT_NOFILE (ulimit -n) took a core in an accept4/EMFILE loop. The fd
        // reserve now refuses connections before the limit is reached, and an EMFILE that still happens sheds the waiting
        // connection (GuardedSocketTransport). Lowering the limit of a running supd below the fds it already holds
        // (prlimit) once aborted it ("Out of memory."): an open problem, noted in docs/security.md.
        await using var supd = new SupdHarness { DaemonLogLevel = null, Wrapper = ["prlimit", "--nofile=320:320", "--"] };
        supd.WriteJob("crashy", "start on startup\nrespawn\nrespawn limit unlimited\nexec sh -c 'sleep 0.3; exit 1'\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("crashy", "start/running");

        using var flood = StartFlood(supd.Socket, 600, asNobody: false);
        TestContext.Out.WriteLine($"flood held {await flood.StandardOutput.ReadLineAsync()} connections at the kernel level");
        await Eventually.TrueAsync(() => supd.DaemonOutput.Contains("Refused a control connection"), "the refusals logged", Long);
        // A measurement window, not a wait for a condition: supd's CPU time while the flood holds its connections. The
        // busy loop took the whole window; refusing the rest of the flood, the respawns and a JIT on a loaded CI machine
        // once took 1.1 s of 3 s, so the bound is half the window.
        var window = TimeSpan.FromSeconds(5);
        var before = CpuSeconds(supd.SupdPid);
        await Task.Delay(window);
        var used = CpuSeconds(supd.SupdPid) - before;
        TestContext.Out.WriteLine($"supd used {used:F2} s of CPU in {window.TotalSeconds} s under the flood");
        Assert.That(used, Is.LessThan(window.TotalSeconds / 2), "no busy loop (it used to take a whole core)");
        var first = await supd.MainPidAsync("crashy");
        await Eventually.GetAsync(() => supd.MainPidAsync("crashy"), pid => pid != 0 && pid != first, "crashy respawned during the flood", Long);

        flood.StandardInput.Close();
        await flood.WaitForExitAsync();
        await Eventually.GetAsync(() => supd.CtlAsync("list"), r => r.ExitCode == 0, "answers again once the flood is gone", Long);
        Assert.That(supd.SupdProcess!.HasExited, Is.False);
    }

    private static Process StartFlood(string socket, int count, bool asNobody)
    {
        var info = new ProcessStartInfo(asNobody ? "setpriv" : "perl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        if (asNobody) foreach (var arg in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "perl" }) info.ArgumentList.Add(arg);
        foreach (var arg in new[] { "-e", FloodScript, socket, count.ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(arg);
        return Process.Start(info)!;
    }

    private static async Task RunAsync(params string[] command)
    {
        var result = await SupdHarness.RunCtlAsync(command[0], command[1..]);
        Assert.That(result.ExitCode, Is.EqualTo(0), $"{string.Join(' ', command)}: {result}");
    }

    private static double CpuSeconds(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}
