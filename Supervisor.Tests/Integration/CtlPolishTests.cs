using System.Text.Json;
using NUnit.Framework;
using Supervisor.Tests.Support;

namespace Supervisor.Tests.Integration;

/// <summary>supctl for scripts and people: --json on the verbs, is-running's LSB statuses, help VERB, bash completion.</summary>
[TestFixtureSource(typeof(BinaryFlavor), nameof(BinaryFlavor.Selected))]
[Parallelizable(ParallelScope.All)]
public sealed class CtlPolishTests(BinaryFlavor flavor) : IntegrationFixture(flavor)
{
    [Test]
    public async Task Json_replies_carry_the_proto_field_names()
    {
        await using var h = new SupdHarness();
        h.WriteJob("web", "start on startup\nexec sleep 1000\n");
        h.WriteJob("idle", "usage \"idle NAME=x\"\nexec sleep 1000\n");
        await h.StartAsync();
        var web = await h.WaitForStatusAsync("web", "start/running");

        using var status = Json(await h.CtlAsync("--json", "status", "web"));
        var job = status.RootElement.GetProperty("status");
        Assert.That(job.GetProperty("job").GetString(), Is.EqualTo("web"));
        Assert.That(job.GetProperty("goal").GetString(), Is.EqualTo("start"));
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("running"));
        Assert.That(job.GetProperty("processes")[0].GetProperty("pid").GetInt32(), Is.EqualTo(SupdHarness.PidOf(web.Stdout)));
        Assert.That(job.GetProperty("failure").GetString(), Is.Empty, "empty fields are present too");

        using var list = Json(await h.CtlAsync("list", "--json"));
        Assert.That(list.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("job").GetString()),
            Is.EquivalentTo(new[] { "web", "idle" }));

        using var started = Json(await h.CtlAsync("start", "idle", "--json"));
        Assert.That(started.RootElement.GetProperty("status").GetProperty("state").GetString(), Is.EqualTo("running"));

        using var usage = Json(await h.CtlAsync("--json", "usage", "idle"));
        Assert.That(usage.RootElement.GetProperty("usage").GetString(), Is.EqualTo("idle NAME=x"));

        using var version = Json(await h.CtlAsync("--json", "version"));
        Assert.That(version.RootElement.GetProperty("supd").GetString(), Does.StartWith("supd (supd "));
        Assert.That(version.RootElement.GetProperty("supctl").GetString(), Does.StartWith("supctl (supd "));

        using var emitted = Json(await h.CtlAsync("--json", "emit", "nothing-listens"));
        Assert.That(emitted.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object));
    }

    [Test]
    public async Task Show_log_events_and_reload_configuration_answer_in_json_too()
    {
        await using var h = new SupdHarness();
        h.WriteJob("talker", "start on startup\nexec sh -c 'echo one; echo; echo \"two \\\"quoted\\\"\"; exec sleep 1000'\n");
        await h.StartAsync();
        await h.WaitForLogAsync("talker", "two");

        using var show = Json(await h.CtlAsync("--json", "show", "talker"));
        Assert.That(show.RootElement.GetProperty("status").GetProperty("job").GetString(), Is.EqualTo("talker"));
        Assert.That(show.RootElement.GetProperty("logLines").EnumerateArray().Select(e => e.GetString()),
            Is.EqualTo(new[] { "one", "", "two \"quoted\"" }));

        var log = await h.CtlAsync("--json", "log", "talker");
        var lines = log.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => { using var d = System.Text.Json.JsonDocument.Parse(l); return d.RootElement.GetProperty("line").GetString(); });
        Assert.That(lines, Is.EqualTo(new[] { "one", "", "two \"quoted\"" }), log.ToString());

        var events = await h.CtlAsync("--json", "events");
        Assert.That(events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Some.Contains("\"startup\""), events.ToString());

        using var reload = Json(await h.CtlAsync("--json", "reload-configuration"));
        Assert.That(reload.RootElement.GetProperty("added").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Is_running_exits_0_3_or_4_like_an_lsb_status()
    {
        await using var h = new SupdHarness();
        h.WriteJob("web", "start on startup\nexec sleep 1000\n");
        h.WriteJob("idle", "exec sleep 1000\n");
        await h.StartAsync();
        await h.WaitForStatusAsync("web", "start/running");

        var running = await h.CtlAsync("is-running", "web");
        Assert.That(running.ExitCode, Is.Zero, running.ToString());
        Assert.That(running.Stdout, Does.StartWith("web start/running"));
        var stopped = await h.CtlAsync("is-running", "-q", "idle");
        Assert.That((stopped.ExitCode, stopped.Stdout), Is.EqualTo((3, "")));
        var unknown = await h.CtlAsync("is-running", "nope");
        Assert.That(unknown.ExitCode, Is.EqualTo(4));
        Assert.That(unknown.Stderr, Does.Contain("Unknown job: nope"));
        var unreachable = await SupdHarness.RunCtlAsync(Binaries.Supctl, ["--socket", h.Socket + ".none", "is-running", "web"]);
        Assert.That(unreachable.ExitCode, Is.EqualTo(4));
    }

    [Test]
    public async Task Help_verb_prints_the_verbs_help()
    {
        await using var h = new SupdHarness();
        var help = await h.CtlAsync("help", "is-running");
        Assert.That(help.ExitCode, Is.Zero);
        Assert.That(help.Stdout, Is.EqualTo((await h.CtlAsync("is-running", "--help")).Stdout));
        Assert.That((await h.CtlAsync("help", "frobnicate")).ExitCode, Is.EqualTo(2));
    }

    [Test]
    public async Task Bash_completion_offers_verbs_and_the_job_names_of_the_socket_on_the_line()
    {
        await using var h = new SupdHarness();
        h.WriteJob("web", "exec sleep 1000\n");
        h.WriteJob("net/apache", "exec sleep 1000\n");
        await h.StartAsync();

        Assert.That(await CompleteAsync(h, "st"), Is.EquivalentTo(new[] { "status", "start", "stop" }));
        Assert.That(await CompleteAsync(h, "status", ""), Is.EquivalentTo(new[] { "web", "net/apache" }));
        Assert.That(await CompleteAsync(h, "is-running", "w"), Is.EquivalentTo(new[] { "web" }));
        Assert.That(await CompleteAsync(h, "help", "is-"), Is.EquivalentTo(new[] { "is-running" }));
    }

    // Runs the completion function as bash would for `supctl --socket S WORDS…` (the cursor on the last word).
    private static async Task<string[]> CompleteAsync(SupdHarness h, params string[] words)
    {
        string[] line = [Binaries.Supctl, "--socket", h.Socket, .. words];
        var script = $"source '{Path.Combine(Binaries.RepositoryRoot, "completion", "supctl.bash")}'\n" +
                     $"COMP_WORDS=({string.Join(' ', line.Select(w => $"'{w}'"))})\nCOMP_CWORD={line.Length - 1}\n" +
                     "_supctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
        var result = await SupdHarness.RunCtlAsync("bash", ["-c", script]);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static JsonDocument Json(CtlResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
        return JsonDocument.Parse(result.Stdout);
    }
}
