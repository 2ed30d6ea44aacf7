using System.Diagnostics;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>
/// The status page at / of the HTTP listener, as served by the real supd: every job on it, job text escaped, bounded
/// log lines, no control verb; and rendered by a real headless Chromium (category Browser; skipped, saying why, where
/// Debian's chromium is not installed), which dumps its DOM and saves a screenshot at a laptop's and a phone's width.
/// </summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class StatusPageTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    private static async Task<(SupdHarness Harness, Uri Address)> StartAsync()
    {
        var h = new SupdHarness();
        try
        {
            h.WriteJob("web", "description \"Public web front end\"\nstart on startup\nrespawn\n" +
                              "exec sh -c 'echo listening on :8080; echo \"GET / <script>alert(1)</script>\"; exec sleep 1000'\n");
            h.WriteJob("worker", "instance $N\nexec sleep 1000\n");
            h.WriteJob("db", "start on startup\nexec sh -c 'echo cannot open /etc/db.conf >&2; exit 3'\n");
            var address = await MetricsTests.StartWithHttpAsync(h);
            await h.CtlAsync("start", "worker", "N=eu-1");
            await h.WaitForStatusAsync("web", "start/running");
            await h.WaitForLogAsync("web", "alert(1)");
            await h.WaitForStatusAsync("db", "stop/waiting");
            return (h, address);
        }
        catch
        {
            await h.DisposeAsync();
            throw;
        }
    }

    [Test]
    public async Task The_page_shows_every_job_with_its_state_and_escaped_log_lines_and_offers_no_control()
    {
        var (h, address) = await StartAsync();
        await using var _ = h;
        var longLine = h.WriteScript("long-line", "head -c 100000 /dev/zero | tr '\\0' x\necho\nexec sleep 1000\n");
        h.WriteJob("long", $"exec {longLine}\n");
        await h.CtlAsync("reload-configuration");
        await h.CtlAsync("start", "long");
        await h.WaitForStatusAsync("long", "start/running");
        await h.WaitForLogAsync("long", "xxxxxxxx");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.GetAsync(address);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.StartWith("default-src 'none'"));
            Assert.That(page, Does.Contain("<article class=\"job ok\" data-job=\"web\" data-instance=\"\">"));
            Assert.That(page, Does.Contain("data-job=\"worker\" data-instance=\"eu-1\""));
            Assert.That(page, Does.Contain("<article class=\"job bad\" data-job=\"db\""));
            Assert.That(page, Does.Contain("cannot open /etc/db.conf"));
            Assert.That(page, Does.Contain("Public web front end"));
            // A job's output is text, never markup.
            Assert.That(page, Does.Contain("GET / &lt;script&gt;alert(1)&lt;/script&gt;"));
            Assert.That(page, Does.Not.Contain("<script"));
            // A 100 000-character line is shown cut.
            Assert.That(page, Does.Contain(new string('x', Supervisor.Core.Limits.MaxStatusLogLineChars) + " …"));
            Assert.That(page, Does.Not.Contain(new string('x', Supervisor.Core.Limits.MaxStatusLogLineChars + 1)));
            // Read-only: no form, no button, no link that acts.
            Assert.That(page, Does.Not.Contain("<form").And.Not.Contain("<button").And.Not.Contain("<a "));
            Assert.That(page, Does.Contain("<meta http-equiv=\"refresh\""));
        });
    }

    [Test]
    [Category("Browser")]
    public async Task Chromium_renders_the_page_with_every_job_and_saves_a_screenshot()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        if (chromium is null)
            Assert.Ignore("chromium is not installed (Debian: apt-get install chromium); the page was not rendered in a browser");
        var (h, address) = await StartAsync();
        await using var _ = h;

        var dom = await RunChromiumAsync(chromium!, h.Root, "--dump-dom", address.ToString());
        foreach (var job in new[] { "data-job=\"web\"", "data-job=\"worker\" data-instance=\"eu-1\"", "data-job=\"db\"" })
            Assert.That(dom, Does.Contain(job), "the DOM Chromium built");
        Assert.That(dom, Does.Contain("start/running").And.Contain("&lt;script&gt;alert(1)&lt;/script&gt;"));

        foreach (var (name, size) in new[] { ("laptop", "1280,800"), ("phone", "390,844") })
        {
            var png = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"status-page-{name}-{Flavor}.png");
            File.Delete(png);
            await RunChromiumAsync(chromium!, h.Root, $"--window-size={size}", $"--screenshot={png}", address.ToString());
            Assert.That(new FileInfo(png).Length, Is.GreaterThan(10_000), $"the {name} screenshot");
            await using (var file = File.OpenRead(png))
            {
                var magic = new byte[8];
                await file.ReadExactlyAsync(magic);
                Assert.That(magic, Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
            }
            TestContext.AddTestAttachment(png, $"the status page at a {name}'s width");
        }
    }

    /// <summary>Runs headless Chromium once, owned: killed with its whole tree if it outlives the bound.</summary>
    private static async Task<string> RunChromiumAsync(string chromium, string root, params string[] args)
    {
        var info = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                     $"--user-data-dir={Path.Combine(root, "chromium-profile")}" }.Concat(args))
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.That(process.ExitCode, Is.Zero, $"chromium {string.Join(' ', args)}:\n{await stderr}");
        return await stdout;
    }
}
