using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using NUnit.Framework;
using Supervisor.Tests.Support;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Tests.Integration;

/// <summary>
/// The HTTP listener (<c>--http</c>) of the real supd: /metrics in the Prometheus text format describing real jobs,
/// checked by promtool where it is installed; the control API is not reachable on it; its connections are bounded.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class MetricsTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    /// <summary>Starts supd with the HTTP listener on a free loopback port; its base address, as supd logged it.</summary>
    public static async Task<Uri> StartWithHttpAsync(SupdHarness h)
    {
        await h.StartAsync("--http", "127.0.0.1:0");
        var logged = await Eventually.GetAsync(
            () => Task.FromResult(Regex.Match(h.DaemonOutput, @"HTTP listener on (http://127\.0\.0\.1:[0-9]+)")),
            m => m.Success, "supd to log its HTTP listener's address");
        return new Uri(logged.Groups[1].Value);
    }

    public static async Task<string> GetAsync(Uri address, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.GetAsync(new Uri(address, path));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}\n{body}");
        return body;
    }

    /// <summary>The value of the one sample whose name and labels are exactly <paramref name="series"/>, or null.</summary>
    private static double? Sample(string metrics, string series)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    [Test]
    public async Task Metrics_describe_each_job_and_supd_and_follow_a_crash()
    {
        await using var h = new SupdHarness();
        h.WriteJob("web", "start on startup\nrespawn\nexec sh -c 'echo web is up; exec sleep 1000'\n");
        h.WriteJob("idle", "exec sleep 1000\n");
        var address = await StartWithHttpAsync(h);
        await h.WaitForStatusAsync("web", "start/running");
        await h.WaitForLogAsync("web", "web is up");

        var metrics = await Eventually.GetAsync(() => GetAsync(address, "/metrics"),
            m => Sample(m, """supd_job_log_written_bytes_total{supd_job="web",supd_instance=""}""") > 0, "web's log bytes in /metrics");
        Assert.Multiple(() =>
        {
            Assert.That(Sample(metrics, """supd_job_up{supd_job="web",supd_instance=""}"""), Is.EqualTo(1), metrics);
            Assert.That(Sample(metrics, """supd_job_up{supd_job="idle",supd_instance=""}"""), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, """supd_job_failed{supd_job="web",supd_instance=""}"""), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, """supd_job_state{supd_job="web",supd_instance="",state="running"}"""), Is.EqualTo(1), metrics);
            Assert.That(Sample(metrics, """supd_job_goal{supd_job="idle",supd_instance="",goal="stop"}"""), Is.EqualTo(1), metrics);
            Assert.That(Sample(metrics, """supd_job_restarts_total{supd_job="web",supd_instance=""}"""), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, """supd_job_start_time_seconds{supd_job="web",supd_instance=""}"""),
                Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(300), metrics);
            Assert.That(Sample(metrics, """supd_job_memory_bytes{supd_job="web",supd_instance=""}"""), Is.GreaterThan(0), metrics);
            Assert.That(Sample(metrics, """supd_job_cpu_seconds_total{supd_job="web",supd_instance=""}"""), Is.GreaterThanOrEqualTo(0), metrics);
            Assert.That(Sample(metrics, """supd_job_log_dropped_bytes_total{supd_job="web",supd_instance=""}"""), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, "supd_jobs"), Is.EqualTo(2), metrics);
            Assert.That(Sample(metrics, "supd_events_emitted_total"), Is.GreaterThanOrEqualTo(3), metrics); // startup, starting, started…
            Assert.That(Sample(metrics, "supd_loop_queue_length"), Is.GreaterThanOrEqualTo(0), metrics);
            // Every message the loop took (loading the jobs, the boot events, web's start, the harness's requests).
            Assert.That(Sample(metrics, "supd_loop_turn_duration_seconds_count"), Is.GreaterThanOrEqualTo(3), metrics);
            Assert.That(Sample(metrics, """supd_loop_turn_duration_seconds_bucket{le="+Inf"}"""),
                Is.EqualTo(Sample(metrics, "supd_loop_turn_duration_seconds_count")), metrics);
            Assert.That(Sample(metrics, "supd_uptime_seconds"), Is.GreaterThan(0), metrics);
            // No job here needs the exec helper: no fork server yet, nothing failed.
            Assert.That(Sample(metrics, "supd_fork_server_spawns_total"), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, "supd_fork_server_failures_total"), Is.EqualTo(0), metrics);
            Assert.That(Sample(metrics, "supd_observed_instances_omitted"), Is.EqualTo(0), metrics);
            // The harness's own status requests are served (verb "status"/"list") and counted.
            Assert.That(Regex.IsMatch(metrics, @"^supd_requests_total\{verb=""[a-z-]+""\} [1-9]", RegexOptions.Multiline), metrics);
        });

        // A crash: the respawn is counted and the exit status is the shell's 128+9.
        var pid = await h.MainPidAsync("web");
        SupdHarness.Signal(pid, 9);
        metrics = await Eventually.GetAsync(() => GetAsync(address, "/metrics"),
            m => Sample(m, """supd_job_restarts_total{supd_job="web",supd_instance=""}""") == 1 && Sample(m, """supd_job_up{supd_job="web",supd_instance=""}""") == 1,
            "web's respawn in /metrics", TimeSpan.FromSeconds(60));
        Assert.That(Sample(metrics, """supd_job_last_exit_status{supd_job="web",supd_instance=""}"""), Is.EqualTo(137), metrics);
    }

    [Test]
    public async Task Promtool_accepts_the_metrics()
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null)
            Assert.Ignore("promtool is not installed (Debian: apt-get install prometheus); the metrics were not checked by it");
        await using var h = new SupdHarness();
        h.WriteJob("web", "start on startup\nexec sleep 1000\n");
        h.WriteJob("worker", "instance $N\nexec sleep 1000\n");
        h.WriteJob("broken", "start on startup\nexec /nonexistent/program\n");
        var address = await StartWithHttpAsync(h);
        await h.CtlAsync("start", "worker", "N=a\"quoted\\name");
        await h.WaitForStatusAsync("web", "start/running");
        var metrics = await GetAsync(address, "/metrics");
        Assert.That(metrics, Does.Contain("supd_job_up{supd_job=\"worker\",supd_instance=\"a\\\"quoted\\\\name\"} 1"));
        await h.WaitForStatusAsync("broken", "stop/waiting");
        metrics = await GetAsync(address, "/metrics");
        Assert.That(Sample(metrics, """supd_job_failed{supd_job="broken",supd_instance=""}"""), Is.EqualTo(1), metrics);

        var check = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(check)!;
        await process.StandardInput.WriteAsync(metrics);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
        Assert.That(process.ExitCode, Is.Zero, $"promtool check metrics:\n{await stdout}{await stderr}\n---\n{metrics}");
    }

    [Test]
    public async Task The_control_API_is_not_reachable_on_the_HTTP_port()
    {
        await using var h = new SupdHarness();
        h.WriteJob("web", "exec sleep 1000\n");
        var address = await StartWithHttpAsync(h);

        // A gRPC client (HTTP/2 with prior knowledge, as supctl speaks) gets no call through.
        using (var channel = GrpcChannel.ForAddress(address))
        {
            var client = new ProtoClient(channel);
            var e = Assert.ThrowsAsync<RpcException>(async () => await client.ListAsync(new Supervisor.Protocol.ListRequest(), deadline: DateTime.UtcNow.AddSeconds(30)));
            Assert.That(e!.StatusCode, Is.Not.EqualTo(StatusCode.OK));
        }
        // The method's path over HTTP/1.1: the listener's own pipeline, which has no such route and no POST.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using (var post = await http.PostAsync(new Uri(address, "/supervisor.Supervisor/List"), new ByteArrayContent([0, 0, 0, 0, 0])))
            Assert.That((int)post.StatusCode, Is.EqualTo(405));
        using (var get = await http.GetAsync(new Uri(address, "/supervisor.Supervisor/List")))
            Assert.That((int)get.StatusCode, Is.EqualTo(404));
        // The control socket still serves it.
        Assert.That((await h.CtlAsync("list")).Stdout, Does.Contain("web stop/waiting"));
    }

    [Test]
    public async Task Connections_beyond_the_bound_are_closed_and_the_listener_serves_again_once_they_go()
    {
        await using var h = new SupdHarness();
        var address = await StartWithHttpAsync(h);
        var held = new List<Socket>();
        try
        {
            // Held open (kept alive) after one answered request each: each takes one of the listener's places, and
            // surely so. Without the answer a held connection could reach the gate after a probe, be refused in its
            // place, and leave the probe a free place on every try (seen on a loaded machine).
            for (var i = 0; i < Supervisor.Core.Limits.MaxHttpConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                await socket.ConnectAsync("127.0.0.1", address.Port);
                await socket.SendAsync("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                var answer = new List<byte>();
                var chunk = new byte[512];
                while (!System.Text.Encoding.ASCII.GetString(answer.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await socket.ReceiveAsync(chunk).WaitAsync(TimeSpan.FromSeconds(60));
                    Assert.That(read, Is.GreaterThan(0), "a held connection was closed before its answer");
                    answer.AddRange(chunk.AsSpan(0, read).ToArray());
                }
                Assert.That(System.Text.Encoding.ASCII.GetString(answer.ToArray()), Does.StartWith("HTTP/1.1 404"));
            }
            // Every place is taken now: the next connection is closed without an answer.
            await Eventually.GetAsync(async () =>
            {
                using var extra = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await extra.ConnectAsync("127.0.0.1", address.Port);
                await extra.SendAsync("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                var buffer = new byte[256];
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    return await extra.ReceiveAsync(buffer, bound.Token) == 0;
                }
                catch (SocketException)
                {
                    return true; // reset: closed as well
                }
            }, closed => closed, "a connection over the bound to be closed without an answer", TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(() => h.DaemonOutput.Contains("Refused an HTTP connection"), "the refusal to be logged");
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }
        Assert.That(await Eventually.GetAsync(() => GetAsync(address, "/metrics"), m => m.Contains("supd_jobs"), "/metrics once the held connections closed"),
            Does.Match(@"(?m)^supd_http_connections_refused_total [1-9]"));
    }
}
