using NUnit.Framework;
using Supervisor.Core;
using Supervisor.Core.Language;

namespace Supervisor.Tests.Core.Language;

/// <summary>conformance-cases.md section C (stanza arguments and errors) plus supd's extensions.</summary>
[TestFixture]
public sealed class ConformanceStanzaTests
{
    [Test]
    public void C28_RespawnLimitUnlimited()
    {
        var job = JobAssert.Parses("respawn\nrespawn limit unlimited\nexec /bin/false\n");
        Assert.That(job.Respawn, Is.True);
        Assert.That(job.RespawnLimit, Is.EqualTo(RespawnLimit.Unlimited));
        Assert.That(job.RespawnLimit.IsUnlimited, Is.True);
    }

    [Test]
    public void C29_RespawnLimitAloneDoesNotEnableRespawn()
    {
        var job = JobAssert.Parses("respawn limit 5 10\nexec sh -c \"sleep 0.2; exit 1\"\n");
        Assert.That(job.Respawn, Is.False);
        Assert.That(job.RespawnLimit, Is.EqualTo(new RespawnLimit(5, 10)));
    }

    [TestCase("respawn limit x 5", "Illegal limit, expected 'unlimited' or integer")]
    [TestCase("respawn limit -1 5", "Illegal limit, expected 'unlimited' or integer")]
    [TestCase("respawn limit 5 x", "Illegal interval, expected number of seconds")]
    [TestCase("respawn limit 5", "Expected token")]
    [TestCase("respawn limit unlimited 5", "Unexpected token")]
    [TestCase("respawn foo", "Unknown stanza")]
    public void RespawnLimitErrors(string line, string message) => JobAssert.FailsWith(line + "\n", message, 1);

    [Test]
    public void C31_NormalExitWithCodesAndSignals()
    {
        var job = JobAssert.Parses("respawn\nnormal exit 0 1 TERM SIGHUP\nexec /bin/sleep 1000\n");
        Assert.That(job.NormalExit, Is.EqualTo(new[]
        {
            ExitCondition.Status(0), ExitCondition.Status(1), ExitCondition.Signal(Signals.SIGTERM), ExitCondition.Signal(Signals.SIGHUP),
        }));
    }

    [Test]
    public void C32_NormalExitErrors()
    {
        JobAssert.FailsWith("normal exit\n", "Expected token", 1);
        JobAssert.FailsWith("normal exit term\n", "Illegal exit status, expected integer", 1);
        JobAssert.FailsWith("normal exit -1\n", "Illegal exit status, expected integer", 1);
        Assert.That(JobAssert.Parses("normal exit 300\n").NormalExit, Is.EqualTo(new[] { ExitCondition.Status(300) }));
        Assert.That(JobAssert.Parses("normal exit 1\nnormal exit 2\n").NormalExit, Has.Count.EqualTo(2), "accumulates");
    }

    [TestCase("umask 022", 0x12)]
    [TestCase("umask 0", 0)]
    [TestCase("umask 0777", 0x1FF)]
    public void C34_UmaskValid(string line, int mask) => Assert.That(JobAssert.Parses(line + "\n").Umask, Is.EqualTo(mask));

    [TestCase("umask 8")]
    [TestCase("umask 0800")]
    [TestCase("umask 1000")]
    public void C34_UmaskInvalid(string line) => JobAssert.FailsWith(line + "\n", "Illegal file creation mask, expected octal integer", 1);

    [TestCase("nice -20", -20)]
    [TestCase("nice 19", 19)]
    public void C34_NiceValid(string line, int nice) => Assert.That(JobAssert.Parses(line + "\n").Nice, Is.EqualTo(nice));

    [TestCase("nice -21")]
    [TestCase("nice 20")]
    [TestCase("nice 5x")]
    public void C34_NiceInvalid(string line) => JobAssert.FailsWith(line + "\n", "Illegal nice value, expected -20 to 19", 1);

    [TestCase("oom score never", -1000)]
    [TestCase("oom score -1000", -1000)]
    [TestCase("oom score 1000", 1000)]
    [TestCase("oom -17", -1000)]
    [TestCase("oom never", -1000)]
    [TestCase("oom 15", 1000)]
    [TestCase("oom -5", -294)]
    public void C35_OomScoreValid(string line, int score) => Assert.That(JobAssert.Parses(line + "\n").OomScore, Is.EqualTo(score));

    [Test]
    public void C35_OomErrors()
    {
        JobAssert.FailsWith("oom score 1001\n", "Illegal oom score adjustment, expected -999 to 1000 or 'never'", 1);
        JobAssert.FailsWith("oom 16\n", "Illegal oom adjustment, expected -16 to 15 or 'never'", 1);
    }

    [TestCase("console log", ConsoleMode.Log)]
    [TestCase("console none", ConsoleMode.None)]
    [TestCase("console output", ConsoleMode.Output)]
    [TestCase("console owner", ConsoleMode.Owner)]
    public void C37_ConsoleModes(string line, ConsoleMode mode) => Assert.That(JobAssert.Parses(line + "\n").Console, Is.EqualTo(mode));

    [TestCase("expect stop", ExpectMode.Stop)]
    [TestCase("expect fork", ExpectMode.Fork)]
    [TestCase("expect daemon", ExpectMode.Daemon)]
    [TestCase("expect none", ExpectMode.None)]
    public void C37_ExpectModes(string line, ExpectMode mode) => Assert.That(JobAssert.Parses(line + "\n").Expect, Is.EqualTo(mode));

    [Test]
    public void C37_ConsoleAndExpectErrors()
    {
        JobAssert.FailsWith("console foo\n", "Unknown stanza", 1);
        JobAssert.FailsWith("console\n", "Expected token", 1);
        JobAssert.FailsWith("expect forks\n", "Unknown stanza", 1);
    }

    [Test]
    public void C38_EnvWithoutValue()
    {
        var job = JobAssert.Parses("env LANG\nexec /usr/bin/env\n");
        Assert.That(job.Env, Is.EqualTo(new[] { "LANG" }));
        JobAssert.FailsWith("env A=1 B=2\n", "Unexpected token", 1);
    }

    [TestCase("export")]
    [TestCase("emits")]
    [TestCase("instance")]
    [TestCase("setuid")]
    [TestCase("start on")]
    [TestCase("start")]
    [TestCase("apparmor load")]
    [TestCase("exec")]
    [TestCase("exec   # only a comment")]
    public void C40_StanzasThatNeedAnArgument(string line) => JobAssert.FailsWith(line + "\n", "Expected token", 1);

    [TestCase("start foo")]
    [TestCase("pre-start foo")]
    [TestCase("apparmor foo bar")]
    public void C40_UnknownSubStanza(string line) => JobAssert.FailsWith(line + "\n", "Unknown stanza", 1);

    [Test]
    public void C41_FlagStanzasTakeNoArguments()
    {
        JobAssert.FailsWith("task extra\n", "Unexpected token", 1);
        var error = JobAssert.Fails("manual extra\n");
        Assert.That(error.Message, Is.EqualTo("Unknown stanza 'extra'"), "the extra word is parsed as the next stanza");
        Assert.That(JobAssert.Parses("manual task\n").Task, Is.True);
    }

    /// <summary>1.12.1 rejects <c>cgroup</c>; supd accepts the 1.13 stanza and keeps the rest of the line.</summary>
    [Test]
    public void C43_CgroupIsAcceptedAsUpstart113Extension()
    {
        var job = JobAssert.Parses("cgroup memory\ncgroup cpu mygroup cpu.shares 512 # comment\n");
        Assert.That(job.Cgroups, Is.EqualTo(new[] { "memory", "cpu mygroup cpu.shares 512" }));
        JobAssert.FailsWith("cgroup\n", "Expected token", 1);
    }

    [Test]
    public void C44_SetuidIsOnlyResolvedAtSpawnTime()
    {
        var job = JobAssert.Parses("setuid nosuchuser\nexec /bin/sleep 1000\n");
        Assert.That(job.Setuid, Is.EqualTo("nosuchuser"));
    }

    [Test]
    public void AllUpstartStanzasAndDefaults()
    {
        var defaults = JobAssert.Parses("");
        Assert.Multiple(() =>
        {
            Assert.That(defaults.Main, Is.Null, "abstract job");
            Assert.That(defaults.Console, Is.EqualTo(ConsoleMode.Log));
            Assert.That(defaults.KillSignal, Is.EqualTo(Signals.SIGTERM));
            Assert.That(defaults.KillTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(defaults.ReloadSignal, Is.EqualTo(Signals.SIGHUP));
            Assert.That(defaults.RespawnLimit, Is.EqualTo(new RespawnLimit(10, 5)));
        });

        var job = JobAssert.Parses("""
            description "d"
            author "a"
            version "1.0"
            usage "u X=1"
            instance $NAME
            chroot /srv
            chdir /tmp
            setuid nobody
            setgid nogroup
            kill signal SIGUSR1
            kill timeout 20
            reload signal USR2
            apparmor load /etc/apparmor.d/x
            apparmor switch profile
            limit nofile 1024 unlimited
            limit core -1 0
            limit nofile 10 20
            pre-start exec /bin/pre
            post-start script
              echo post
            end script
            pre-stop exec /bin/pre-stop
            post-stop exec /bin/post-stop
            debug
            """);
        Assert.Multiple(() =>
        {
            Assert.That(job.Description, Is.EqualTo("d"));
            Assert.That(job.Author, Is.EqualTo("a"));
            Assert.That(job.Version, Is.EqualTo("1.0"));
            Assert.That(job.Usage, Is.EqualTo("u X=1"));
            Assert.That(job.Instance, Is.EqualTo("$NAME"));
            Assert.That(job.Chroot, Is.EqualTo("/srv"));
            Assert.That(job.Chdir, Is.EqualTo("/tmp"));
            Assert.That(job.Setuid, Is.EqualTo("nobody"));
            Assert.That(job.Setgid, Is.EqualTo("nogroup"));
            Assert.That(job.KillSignal, Is.EqualTo(Signals.SIGUSR1));
            Assert.That(job.KillTimeout, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(job.ReloadSignal, Is.EqualTo(Signals.SIGUSR2));
            Assert.That(job.ApparmorLoad, Is.EqualTo("/etc/apparmor.d/x"));
            Assert.That(job.ApparmorSwitch, Is.EqualTo("profile"));
            Assert.That(job.Limits["nofile"], Is.EqualTo(new ResourceLimit(10, 20)), "per resource, last wins");
            Assert.That(job.Limits["core"], Is.EqualTo(new ResourceLimit(null, 0)), "-1 is unlimited (strtoul)");
            Assert.That(job.PreStart, Is.EqualTo(ProcessCommand.Exec("/bin/pre", 18)));
            Assert.That(job.PostStart, Is.EqualTo(ProcessCommand.Script("echo post\n", 19)));
            Assert.That(job.PreStop!.Text, Is.EqualTo("/bin/pre-stop"));
            Assert.That(job.PostStop!.Text, Is.EqualTo("/bin/post-stop"));
        });
    }

    [TestCase("kill signal usr1")]
    [TestCase("kill signal SIGRTMIN")]
    [TestCase("reload signal FOO")]
    public void BadSignalsAreReportedWithALine(string line) =>
        JobAssert.FailsWith(line + "\n", "Illegal signal status, expected integer", 1);

    [TestCase("kill signal 0", 0)]
    [TestCase("kill signal 9", 9)]
    [TestCase("kill signal PWR", 30)]
    public void KillSignalNumbersAreNotRangeChecked(string line, int signal) =>
        Assert.That(JobAssert.Parses(line + "\n").KillSignal, Is.EqualTo(signal));

    [TestCase("limit foo 1 2", "Unknown stanza")]
    [TestCase("limit nofile 1", "Expected token")]
    [TestCase("limit nofile x 2", "Illegal limit, expected 'unlimited' or integer")]
    [TestCase("kill timeout -1", "Illegal interval, expected number of seconds")]
    [TestCase("kill foo", "Unknown stanza")]
    [TestCase("reload foo", "Unknown stanza")]
    public void OtherStanzaErrors(string line, string message) => JobAssert.FailsWith(line + "\n", message, 1);

    [Test]
    public void DuplicateStanzasLastWinsExceptAccumulating()
    {
        var job = JobAssert.Parses("description \"a\"\ndescription \"b\"\nexec /bin/a\nscript\nb\nend script\nemits x y\nemits z\nexport A\nexport B C\n");
        Assert.That(job.Description, Is.EqualTo("b"));
        Assert.That(job.Main, Is.EqualTo(ProcessCommand.Script("b\n", 4)), "exec and script replace each other");
        Assert.That(job.Emits, Is.EqualTo(new[] { "x", "y", "z" }));
        Assert.That(job.Export, Is.EqualTo(new[] { "A", "B", "C" }));
    }

    [Test]
    public void ManualClearsOnlyAnEarlierStartOn()
    {
        var cleared = JobAssert.Parses("start on foo\nmanual\n");
        Assert.That(cleared.Manual, Is.True);
        Assert.That(cleared.StartOn, Is.Null);
        var reenabled = JobAssert.Parses("manual\nstart on foo\n");
        Assert.That(reenabled.StartOn!.ToString(), Is.EqualTo("foo"));
    }

    // ---- supd extensions ----

    [TestCase("respawn delay 2", 2.0, 2.0)]
    [TestCase("respawn delay 0.5 30", 0.5, 30.0)]
    public void RespawnDelay(string line, double min, double max) =>
        Assert.That(JobAssert.Parses(line + "\n").RespawnDelay, Is.EqualTo(new RespawnDelay(min, max)));

    [TestCase("respawn delay 0")]
    [TestCase("respawn delay -1")]
    [TestCase("respawn delay x")]
    [TestCase("respawn delay 5 2")]
    public void RespawnDelayErrors(string line) => JobAssert.FailsWith(line + "\n", "Illegal interval, expected number of seconds", 1);

    [Test]
    public void CheckExecAndScript()
    {
        Assert.That(JobAssert.Parses("check exec /bin/true --x\n").Check, Is.EqualTo(ProcessCommand.Exec("/bin/true --x", 1)));
        Assert.That(JobAssert.Parses("check script\n  test -f /x\nend script\n").Check, Is.EqualTo(ProcessCommand.Script("test -f /x\n", 1)));
        JobAssert.FailsWith("check foo\n", "Unknown stanza", 1);
    }

    [Test]
    public void EnvFile()
    {
        var job = JobAssert.Parses("env-file /etc/default/x\nenv-file -/etc/default/y\n");
        Assert.That(job.EnvFiles, Is.EqualTo(new[] { new EnvFileReference("/etc/default/x", false), new EnvFileReference("/etc/default/y", true) }));
        JobAssert.FailsWith("env-file\n", "Expected token", 1);
        JobAssert.FailsWith("env-file -\n", "Expected token", 1);
    }

    [TestCase("log rotate 50M 10", 50L << 20, 10)]
    [TestCase("log rotate 1048576 3", 1048576L, 3)]
    [TestCase("log rotate 512k 0", 512L << 10, 0)]
    [TestCase("log rotate 1G 2", 1L << 30, 2)]
    public void LogRotate(string line, long size, int count) =>
        Assert.That(JobAssert.Parses(line + "\n").LogRotate, Is.EqualTo(new LogRotation(size, count)));

    [TestCase("log rotate 0 1", "Illegal log size")]
    [TestCase("log rotate 5X 1", "Illegal log size")]
    [TestCase("log rotate 5M x", "Illegal log file count")]
    [TestCase("log rotate 5M", "Expected token")]
    [TestCase("log foo", "Unknown stanza")]
    public void LogRotateErrors(string line, string message) => JobAssert.FailsWith(line + "\n", message, 1);

    [Test]
    public void LogTimestampsAndCritical()
    {
        var job = JobAssert.Parses("log timestamps\ncritical\n");
        Assert.That(job.LogTimestamps, Is.True);
        Assert.That(job.Critical, Is.True);
        JobAssert.FailsWith("critical yes\n", "Unexpected token", 1);
    }

    [Test]
    public void ProcessCommandLineIsTheStanzaLine()
    {
        var job = JobAssert.Parses("\n\n# c\nexec /bin/x \\\n  --flag\n");
        Assert.That(job.Main, Is.EqualTo(ProcessCommand.Exec("/bin/x --flag", 4)));
    }

    [Test]
    public void ParseErrorFormatting()
    {
        Assert.That(new ParseError("/etc/init/a.conf", 3, "Unknown stanza 'x'").ToString(), Is.EqualTo("/etc/init/a.conf:3: Unknown stanza 'x'"));
        Assert.That(new ParseError("/etc/init/a.conf", 0, "Unable to read file: Permission denied").ToString(),
            Is.EqualTo("/etc/init/a.conf: Unable to read file: Permission denied"));
    }
}
