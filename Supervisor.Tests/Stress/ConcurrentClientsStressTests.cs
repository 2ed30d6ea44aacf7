using System.Collections.Concurrent;
using Grpc.Core;
using NUnit.Framework;
using Supervisor.Protocol;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Stress;

// 100 clients at once ask for status, start and stop while other jobs crash and respawn: every request gets an
// answer within a bound (no deadlock, none lost), and every answer is about the job that was asked about.
public sealed partial class StressTests
{
    private const int Clients = 100;
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_hundred_clients_hammering_status_start_and_stop_while_jobs_crash_all_get_the_right_answer()
    {
        await using var supd = new SupdHarness();
        var flaky = supd.WriteScript("flaky", "sleep 0.$(( $$ % 3 ))\nexit 1\n");
        for (var i = 0; i < 10; i++)
        {
            supd.WriteJob($"stable{i}", "exec sleep 1000000\n");
            supd.WriteJob($"flaky{i}", $"start on startup\nrespawn\nrespawn limit unlimited\nexec {flaky}\n");
        }
        await supd.StartAsync();

        var duration = StressLength.Duration(TimeSpan.FromSeconds(15));
        var answered = 0;
        var wrong = new ConcurrentQueue<string>();
        var slowest = TimeSpan.Zero;
        using var stop = new CancellationTokenSource(duration);
        var clients = Enumerable.Range(0, Clients).Select(n => Task.Run(async () =>
        {
            using var raw = new RawClient(supd.Socket);
            var random = new Random(n);
            while (!stop.IsCancellationRequested)
            {
                var verb = random.Next(3);
                var job = verb == 0 && random.Next(2) == 0 ? $"flaky{random.Next(10)}" : $"stable{random.Next(10)}";
                var request = new JobControlRequest { Job = job };
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    var options = new CallOptions(deadline: DateTime.UtcNow + PerRequest);
                    var status = verb switch
                    {
                        0 => (await raw.Client.StatusAsync(new StatusRequest { Job = job }, options)).Status,
                        1 => (await raw.Client.StartAsync(request, options)).Status,
                        _ => (await raw.Client.StopAsync(request, options)).Status,
                    };
                    if (status is null || status.Job != job) wrong.Enqueue($"{Verb(verb)} {job} answered about '{status?.Job}'");
                }
                catch (RpcException e) when (verb != 0 && (e.StatusCode == StatusCode.FailedPrecondition ||
                                                           (verb == 2 && e.StatusCode == StatusCode.NotFound)))
                {
                    // "Job is already running: stable3", or Upstart's "Unknown instance: stable3" for a stop of a job
                    // that is not running: fine answers to a request that lost a race, if they name the job.
                    if (!e.Status.Detail.EndsWith(": " + job, StringComparison.Ordinal))
                        wrong.Enqueue($"{Verb(verb)} {job} refused with '{e.Status.Detail}'");
                }
                catch (RpcException e)
                {
                    wrong.Enqueue($"{Verb(verb)} {job}: {e.StatusCode} {e.Status.Detail}");
                }
                Interlocked.Increment(ref answered);
                lock (wrong) if (clock.Elapsed > slowest) slowest = clock.Elapsed;
            }
        })).ToArray();
        await Task.WhenAll(clients);
        TestContext.Out.WriteLine($"{answered} requests from {Clients} clients in {duration.TotalSeconds:F0}s; slowest {slowest.TotalMilliseconds:F0} ms");

        // Then 100 real supctl processes at once, each asking about its own job.
        var ctls = Enumerable.Range(0, Clients).Select(async n =>
        {
            var job = $"stable{n % 10}";
            var result = await supd.CtlAsync("status", job);
            return (job, result);
        }).ToArray();
        var results = await Task.WhenAll(ctls);

        Assert.Multiple(() =>
        {
            Assert.That(wrong, Is.Empty, "wrong or failed answers");
            Assert.That(answered, Is.GreaterThan(Clients), "the clients did not get going");
            foreach (var (job, result) in results)
            {
                Assert.That(result.ExitCode, Is.Zero, result.ToString());
                Assert.That(result.Stdout, Does.StartWith(job + " "), result.ToString());
            }
            Assert.That(supd.SupdProcess!.HasExited, Is.False);
        });
    }

    private static string Verb(int verb) => verb switch { 0 => "status", 1 => "start", _ => "stop" };
}
