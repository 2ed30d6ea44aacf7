using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using NUnit.Framework;
using Supervisor.Protocol;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

/// <summary>Bad input from every side: supd answers with a clear error and keeps running every other job.</summary>
[TestFixture, Category("Stress")]
public sealed class BadInputStressTests
{
    [Test]
    public async Task Malformed_and_oversized_grpc_messages_are_refused_and_supd_keeps_serving()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("steady", "start on startup\nexec sleep 1000000\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("steady", "start/running");

        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = (_, token) => Connect(supd.Socket, token) });
        // A gRPC frame whose protobuf body is garbage, and one that promises far more bytes than it sends.
        var garbage = await RawCallAsync(http, "Status", [0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        var truncated = await RawCallAsync(http, "Status", [0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
        var notGrpc = await RawCallAsync(http, "NoSuchMethod", Encoding.ASCII.GetBytes("hello"));

        using var raw = new RawClient(supd.Socket);
        var oversized = Assert.ThrowsAsync<RpcException>(async () => await raw.Client.StartAsync(
            new JobControlRequest { Job = "steady", Env = { "BIG=" + new string('x', 8 * 1024 * 1024) } }))!;

        Assert.Multiple(() =>
        {
            Assert.That(garbage, Is.Not.EqualTo("0"), "garbage protobuf accepted");
            Assert.That(truncated, Is.Not.EqualTo("0"), "truncated frame accepted");
            Assert.That(notGrpc, Is.Not.EqualTo("0"), "unknown method accepted");
            Assert.That(oversized.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), oversized.ToString());
        });
        var after = await supd.CtlAsync("status", "steady");
        Assert.That(after.Stdout, Does.Contain("start/running"), after.ToString());
    }

    [Test]
    public async Task A_one_mebibyte_variable_fails_that_start_with_a_reason_and_nothing_else()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("steady", "start on startup\nexec sleep 1000000\n");
        supd.WriteJob("greedy", "exec sleep 1000000\n");
        await supd.StartAsync();
        await supd.WaitForStatusAsync("steady", "start/running");

        using var raw = new RawClient(supd.Socket);
        var error = Assert.ThrowsAsync<RpcException>(async () => await raw.Client.StartAsync(
            new JobControlRequest { Job = "greedy", Env = { "HUGE=" + new string('y', 1024 * 1024) } }))!;

        // Over the 1 MiB request limit: refused before it is parsed. Under it but over 128 KiB (where the kernel
        // would refuse it with E2BIG): refused before the loop sees it, naming the limit.
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), error.ToString());
        var variable = Assert.ThrowsAsync<RpcException>(async () => await raw.Client.StartAsync(
            new JobControlRequest { Job = "greedy", Env = { "BIG=" + new string('y', 200 * 1024) } }))!;
        Assert.That(variable.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), variable.ToString());
        Assert.That(variable.Status.Detail, Is.EqualTo("variable BIG too long (200 KiB > 128 KiB)"), variable.ToString());
        Assert.That((await supd.CtlAsync("status", "steady")).Stdout, Does.Contain("start/running"));
        var again = await supd.CtlAsync("start", "greedy");
        Assert.That(again.Stdout, Does.Contain("start/running"), again.ToString());
    }

    [Test]
    public async Task Job_files_of_every_kind_of_garbage_are_reported_by_file_and_line_and_the_good_job_runs()
    {
        await using var supd = new SupdHarness();
        supd.WriteJob("good", "start on startup\nexec sleep 1000000\n");
        var random = new Random(42);
        var binary = new byte[4096];
        random.NextBytes(binary);
        File.WriteAllBytes(Path.Combine(supd.JobDir, "binary.conf"), binary);
        File.WriteAllBytes(Path.Combine(supd.JobDir, "badutf8.conf"), [0x65, 0x78, 0x65, 0x63, 0x20, 0xc3, 0x28, 0xff, 0x0a]);
        File.WriteAllText(Path.Combine(supd.JobDir, "longline.conf"), "description \"" + new string('z', 1024 * 1024) + "\"\nexec true\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "nested.conf"), "start on " + new string('(', 100_000) + "startup" + new string(')', 100_000) + "\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "unclosed.conf"), "script\n  echo never closed\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "badnumber.conf"), "respawn limit abc def\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "nul.conf"), "exec echo a\0b\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "unknown.conf"), "frobnicate yes\n");
        File.WriteAllText(Path.Combine(supd.JobDir, "quotes.conf"), "exec echo \"unterminated\n");
        await supd.StartAsync();

        await supd.WaitForStatusAsync("good", "start/running");
        var output = supd.DaemonOutput;
        Assert.Multiple(() =>
        {
            foreach (var name in new[] { "badnumber", "unclosed", "unknown", "quotes" })
                Assert.That(output, Does.Match($@"{name}\.conf:\d+"), $"{name}.conf not reported with its line:\n{output}");
            Assert.That(supd.SupdProcess!.HasExited, Is.False);
        });
        var list = await supd.CtlAsync("list");
        Assert.That(list.ExitCode, Is.Zero, list.ToString());
        TestContext.Out.WriteLine(output);
    }

    [Test]
    public async Task A_job_dir_of_ten_thousand_files_loads_and_lists()
    {
        await using var supd = new SupdHarness();
        for (var i = 0; i < 10_000; i++)
            File.WriteAllText(Path.Combine(supd.JobDir, $"job{i:D5}.conf"), $"description \"job {i}\"\nexec sleep 1000000\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await supd.StartAsync();
        var list = await supd.CtlAsync("list");
        TestContext.Out.WriteLine($"10 000 job files: supd answered `list` {clock.ElapsedMilliseconds} ms after it was started");
        Assert.That(list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(10_000));
        var one = await supd.CtlAsync("start", "job09999");
        Assert.That(one.Stdout, Does.Contain("job09999 start/running"), one.ToString());
    }

    [Test]
    public async Task Job_names_with_odd_characters_work_from_file_to_log()
    {
        await using var supd = new SupdHarness();
        string[] names = ["with space", "ünïcödé", "-dash", "a%b", "x.y", new string('n', 200), "dir/sub"];
        foreach (var name in names) supd.WriteJob(name, "exec sh -c 'echo hello from $UPSTART_JOB; exec sleep 1000000'\n");
        await supd.StartAsync();

        foreach (var name in names)
        {
            var started = await supd.CtlAsync("start", "--", name);
            Assert.That(started.Stdout, Does.StartWith(name + " start/running"), started.ToString());
            await supd.WaitForLogAsync(name, "hello from " + name);
            var status = await supd.CtlAsync("status", "--", name);
            Assert.That(status.Stdout, Does.StartWith(name + " start/running"), status.ToString());
        }
    }

    private static async ValueTask<Stream> Connect(string socket, CancellationToken token)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
        return new NetworkStream(s, ownsSocket: true);
    }

    /// <summary>Posts raw bytes as a gRPC call (HTTP/2 prior knowledge) and returns the grpc-status it answered.</summary>
    private static async Task<string> RawCallAsync(HttpClient http, string method, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://supd/supd.v1.Supervisor/{method}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        if (response.TrailingHeaders.TryGetValues("grpc-status", out var trailer)) return trailer.First();
        if (response.Headers.TryGetValues("grpc-status", out var header)) return header.First();
        return $"HTTP {(int)response.StatusCode}";
    }
}
