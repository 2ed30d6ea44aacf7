using System.Globalization;
using Supervisor.Core.Events;
using Supervisor.Core.Processes;

namespace Supervisor.Core.Language;

/// <summary>
/// Parses Upstart 1.12.1 job files (spec §2, §3) plus supd's extensions into <see cref="JobDefinition"/>.
/// Never throws for bad input: every problem becomes a <see cref="ParseError"/> with Upstart's message text.
/// </summary>
public static class JobParser
{
    /// <summary>Prefix of errors in an override file; the whole override is then ignored (unlike Upstart's partial application).</summary>
    public const string OverrideRejectedPrefix = "Override rejected: ";

    public static JobParseResult Parse(string name, string path, string text)
    {
        var empty = new JobDefinition { Name = name, SourcePath = path };
        return ParseInto(empty, path, text);
    }

    /// <summary>Parses the .conf, then the .override into the same job with the normal duplicate rules (spec §1, §2.11).</summary>
    public static JobParseResult Parse(string name, string confPath, string confText, string? overridePath, string? overrideText)
    {
        var conf = Parse(name, confPath, confText);
        if (conf.Job is null || overridePath is null || overrideText is null)
            return conf;

        var overridden = ParseInto(conf.Job with { OverridePath = overridePath }, overridePath, overrideText);
        if (overridden.Error is { } error)
            return new JobParseResult(null, error with { Message = OverrideRejectedPrefix + error.Message });
        return overridden;
    }

    private static JobParseResult ParseInto(JobDefinition start, string path, string text)
    {
        var reader = new ConfigReader(text);
        try
        {
            var job = start;
            var stanzas = 0;
            while (!reader.AtEnd)
            {
                while (!reader.AtEnd && ConfigReader.IsSpace(reader.Current))
                    reader.Position++;
                if (!reader.HasToken())
                {
                    reader.NextLine();   // blank or comment-only line
                    continue;
                }
                // Repeated stanzas (env, export, …) append to immutable lists; the count bounds that work too.
                if (++stanzas > Limits.MaxStanzasPerFile)
                    throw new ConfigSyntaxException(reader.Position, $"Too many stanzas (more than {Limits.MaxStanzasPerFile} in one file)");
                job = ParseStanza(reader, job);
            }
            return new JobParseResult(job, null);
        }
        catch (ConfigSyntaxException e)
        {
            return new JobParseResult(null, new ParseError(path, reader.LineAt(e.Position), e.Message));
        }
    }

    private static JobDefinition ParseStanza(ConfigReader reader, JobDefinition job)
    {
        var stanzaStart = reader.Position;
        var line = reader.LineAt(stanzaStart);
        // Stanza names are neither dequoted nor case-folded: "exec" and Exec are unknown (spec §2.1).
        var name = reader.NextToken(ConfigReader.WordDelimiters, dequote: false);
        reader.Context = name;

        switch (name)
        {
            case "description": return job with { Description = SingleArgument(reader) };
            case "author": return job with { Author = SingleArgument(reader) };
            case "version": return job with { Version = SingleArgument(reader) };
            case "usage": return job with { Usage = SingleArgument(reader) };
            case "instance": return job with { Instance = SingleArgument(reader) };
            case "chroot": return job with { Chroot = SingleArgument(reader) };
            case "chdir": return job with { Chdir = SingleArgument(reader) };
            case "setuid": return job with { Setuid = SingleArgument(reader) };
            case "setgid": return job with { Setgid = SingleArgument(reader) };
            case "env": return job with { Env = [.. job.Env, SingleArgument(reader)] };
            case "export": return job with { Export = [.. job.Export, .. OneOrMoreArguments(reader)] };
            case "emits": return job with { Emits = [.. job.Emits, .. OneOrMoreArguments(reader)] };

            // main's exec and script stand alone; the other processes' stanzas (pre-start exec …) are in ProcessKinds.
            case "exec": return ProcessKinds.Main.WithCommand(job, ParseExec(reader, line));
            case "script": return ProcessKinds.Main.WithCommand(job, ParseScript(reader, line));

            case "start":
                if (ExpectSubword(reader, name, "on", "grace") == "grace") return job with { StartGrace = ParseStartGrace(reader) };
                reader.Context = "start on";
                return job with { StartOn = EventExpressionParser.Parse(reader) };
            case "stop":
                ExpectSubword(reader, name, "on");
                reader.Context = "stop on";
                return job with { StopOn = EventExpressionParser.Parse(reader) };

            // manual and debug do not look at the rest of the line: "manual x" parses x as the next stanza (spec §3).
            case "manual": return job with { Manual = true, StartOn = null };
            case "debug": return job;

            case "task": reader.SkipComment(); return job with { Task = true };
            case "critical": reader.SkipComment(); return job with { Critical = true };
            case "respawn": return ParseRespawn(reader, job);
            case "normal": return job with { NormalExit = [.. job.NormalExit, .. ParseNormalExit(reader)] };
            case "console": return job with { Console = ParseConsole(reader) };
            case "expect": return job with { Expect = ParseExpect(reader) };
            case "umask": return job with { Umask = ParseUmask(reader) };
            case "nice": return job with { Nice = ParseNice(reader) };
            case "oom": return job with { OomScore = ParseOom(reader) };
            case "limit": return ParseLimit(reader, job);
            case "kill": return ParseKill(reader, job);
            case "reload":
                ExpectSubword(reader, name, "signal");
                reader.Context = "reload signal";
                return job with { ReloadSignal = ParseSignal(reader) };
            case "apparmor": return ParseApparmor(reader, job);
            case "cgroup":
                // Upstart 1.13; kept verbatim, read at each start (Processes/Containment/CgroupSettings).
                if (!reader.HasToken())
                    throw new ConfigSyntaxException(reader.Position, "Expected token after cgroup: a controller name");
                return job with { Cgroups = [.. job.Cgroups, reader.ReadCommand()] };
            case "memory" or "tasks" or "cpu": return ParseCgroupLimit(reader, job, name);
            case "env-file": return job with { EnvFiles = [.. job.EnvFiles, ParseEnvFile(reader)] };
            case "health": return ParseHealth(reader, job, line);
            case "log": return ParseLog(reader, job);
            default:
                if (ProcessKinds.TryFromStanza(name, out var process))
                    return process.WithCommand(job, ParseProcess(reader, name, line));
                throw new ConfigSyntaxException(reader.Position, $"Unknown stanza '{name}'");
        }
    }

    private static string SingleArgument(ConfigReader reader)
    {
        var value = reader.NextArgument();
        reader.SkipComment();
        return value;
    }

    private static List<string> OneOrMoreArguments(ConfigReader reader)
    {
        if (!reader.HasToken())
            throw new ConfigSyntaxException(reader.Position, $"Expected token after {reader.Context}");
        return reader.ReadArguments();
    }

    /// <summary>Reads the second word of a two-word stanza (<c>start on</c>); any other word is an unknown stanza.</summary>
    private static string ExpectSubword(ConfigReader reader, string stanza, params ReadOnlySpan<string> allowed)
    {
        var word = reader.NextToken(ConfigReader.WordDelimiters, dequote: false);
        foreach (var candidate in allowed)
        {
            if (word == candidate) return word;
        }
        throw new ConfigSyntaxException(reader.Position, $"Unknown stanza '{stanza} {word}'");
    }

    private static ProcessCommand ParseExec(ConfigReader reader, int line)
    {
        if (!reader.HasToken())
            throw new ConfigSyntaxException(reader.Position, $"Expected token after {reader.Context}: a command");
        return ProcessCommand.Exec(reader.ReadCommand(), line);
    }

    private static ProcessCommand ParseScript(ConfigReader reader, int line)
    {
        reader.SkipComment();
        return ProcessCommand.Script(reader.ReadBlock("script"), line);
    }

    private static ProcessCommand ParseProcess(ConfigReader reader, string stanza, int line)
    {
        var kind = ExpectSubword(reader, stanza, "exec", "script");
        reader.Context = stanza + " " + kind;
        return kind == "exec" ? ParseExec(reader, line) : ParseScript(reader, line);
    }

    private static JobDefinition ParseRespawn(ConfigReader reader, JobDefinition job)
    {
        if (!reader.HasToken())
        {
            reader.SkipComment();
            return job with { Respawn = true };
        }

        var kind = ExpectSubword(reader, "respawn", "limit", "delay");
        reader.Context = "respawn " + kind;
        if (kind == "delay")
            return job with { RespawnDelay = ParseRespawnDelay(reader) };

        var count = reader.NextArgument();
        if (count == "unlimited")
        {
            reader.SkipComment();
            return job with { RespawnLimit = RespawnLimit.Unlimited };
        }
        if (!NumberParsing.TryParseSigned(count, 10, out var limit) || limit is < 0 or > int.MaxValue)
            throw Illegal(reader, "Illegal limit, expected 'unlimited' or integer", count);
        var intervalText = reader.NextArgument();
        if (!NumberParsing.TryParseSigned(intervalText, 10, out var interval) || interval is < 0 or > int.MaxValue)
            throw Illegal(reader, "Illegal interval, expected number of seconds", intervalText);
        reader.SkipComment();
        return job with { RespawnLimit = new RespawnLimit((int)limit, (int)interval) };
    }

    /// <summary>
    /// <c>respawn delay MIN [MAX]</c>: MAX defaults to MIN, i.e. a fixed delay; back-off only when asked for
    /// with an explicit larger MAX, so a single number means exactly what it says.
    /// </summary>
    private static RespawnDelay ParseRespawnDelay(ConfigReader reader)
    {
        var minText = reader.NextArgument();
        if (!NumberParsing.TryParseSeconds(minText, out var min) || min <= 0)
            throw Illegal(reader, "Illegal interval, expected number of seconds", minText);
        var max = min;
        if (reader.HasToken())
        {
            var maxText = reader.NextArgument();
            if (!NumberParsing.TryParseSeconds(maxText, out max) || max < min)
                throw Illegal(reader, "Illegal interval, expected number of seconds", maxText + " (MAX must be at least MIN)");
        }
        reader.SkipComment();
        return new RespawnDelay(min, max);
    }

    /// <summary><c>start grace SECONDS</c>: above 0, at most <see cref="Limits.MaxStartGraceSeconds"/>, fractions allowed.</summary>
    private static TimeSpan ParseStartGrace(ConfigReader reader)
    {
        reader.Context = "start grace";
        var text = reader.NextArgument();
        if (!NumberParsing.TryParseSeconds(text, out var seconds) || seconds <= 0 || seconds > Limits.MaxStartGraceSeconds)
            throw Illegal(reader, "Illegal interval, expected number of seconds above 0, at most 3600", text);
        reader.SkipComment();
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>
    /// <c>health exec|script</c> (the check, a row of ProcessKinds) and its settings <c>health interval|timeout|start-period
    /// SECONDS</c> (interval and timeout at least <see cref="Limits.MinHealthSeconds"/>; all at most a day) and
    /// <c>health retries N</c> (1 to <see cref="Limits.MaxHealthRetries"/>).
    /// </summary>
    private static JobDefinition ParseHealth(ConfigReader reader, JobDefinition job, int line)
    {
        var word = ExpectSubword(reader, "health", "exec", "script", "interval", "timeout", "retries", "start-period");
        reader.Context = "health " + word;
        if (word is "exec" or "script")
            return ProcessKinds.Health.WithCommand(job, word == "exec" ? ParseExec(reader, line) : ParseScript(reader, line));
        var text = reader.NextArgument();
        var settings = job.HealthSettings;
        if (word == "retries")
        {
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var retries)
                || retries < 1 || retries > Limits.MaxHealthRetries)
                throw Illegal(reader, $"Illegal value, expected a number from 1 to {Limits.MaxHealthRetries}", text);
            reader.SkipComment();
            return job with { HealthSettings = settings with { Retries = retries } };
        }
        var least = word == "start-period" ? 0 : Limits.MinHealthSeconds;
        if (!NumberParsing.TryParseSeconds(text, out var seconds) || seconds < least || seconds > Limits.MaxHealthSeconds)
            throw Illegal(reader, FormattableString.Invariant(
                $"Illegal interval, expected number of seconds from {least} to {Limits.MaxHealthSeconds}"), text);
        reader.SkipComment();
        var value = TimeSpan.FromSeconds(seconds);
        return job with
        {
            HealthSettings = word switch
            {
                "interval" => settings with { Interval = value },
                "timeout" => settings with { Timeout = value },
                _ => settings with { StartPeriod = value },
            },
        };
    }

    private static List<ExitCondition> ParseNormalExit(ConfigReader reader)
    {
        ExpectSubword(reader, "normal", "exit");
        reader.Context = "normal exit";
        var conditions = new List<ExitCondition>();
        do
        {
            var value = reader.NextArgument();
            // Names first (nih_signal_from_name), so a digit string is always an exit status.
            if (!char.IsAsciiDigit(value[0]) && value[0] is not ('+' or '-' or ' ' or '\t') && Signals.TryParse(value, out var signal))
                conditions.Add(ExitCondition.Signal(signal));
            else if (NumberParsing.TryParseUnsigned(value, 10, out var status) && status <= int.MaxValue)
                conditions.Add(ExitCondition.Status((int)status));
            else
                throw Illegal(reader, "Illegal exit status, expected integer", value);
        }
        while (reader.HasToken());
        reader.SkipComment();
        return conditions;
    }

    private static ConsoleMode ParseConsole(ConfigReader reader) => ParseKeyword(reader, "console", StanzaWords.Console);

    private static ExpectMode ParseExpect(ConfigReader reader) => ParseKeyword(reader, "expect", StanzaWords.Expect);

    // One word out of a fixed set; anything else is Upstart's "Unknown stanza" naming the choices.
    private static T ParseKeyword<T>(ConfigReader reader, string stanza, IReadOnlyList<(string Word, T Value)> choices)
    {
        var value = reader.NextArgument();
        foreach (var (word, result) in choices)
        {
            if (word != value) continue;
            reader.SkipComment();
            return result;
        }
        var expected = string.Join(", ", choices.Take(choices.Count - 1).Select(c => c.Word)) + " or " + choices[^1].Word;
        throw new ConfigSyntaxException(reader.Position, $"Unknown stanza '{stanza} {value}': expected {expected}");
    }

    private static int ParseUmask(ConfigReader reader)
    {
        var value = reader.NextArgument();
        if (!NumberParsing.TryParseUnsigned(value, 8, out var mask) || (mask & ~0x1FFUL) != 0)
            throw Illegal(reader, "Illegal file creation mask, expected octal integer", value);
        reader.SkipComment();
        return (int)mask;
    }

    private static int ParseNice(ConfigReader reader)
    {
        var value = reader.NextArgument();
        if (!NumberParsing.TryParseSigned(value, 10, out var nice) || nice is < -20 or > 19)
            throw Illegal(reader, "Illegal nice value, expected -20 to 19", value);
        reader.SkipComment();
        return (int)nice;
    }

    private static int ParseOom(ConfigReader reader)
    {
        var value = reader.NextArgument();
        int score;
        if (value == "score")
        {
            reader.Context = "oom score";
            var scoreText = reader.NextArgument();
            if (scoreText == "never")
                score = -1000;
            else if (NumberParsing.TryParseSigned(scoreText, 10, out var parsed) && parsed is >= -1000 and <= 1000)
                score = (int)parsed;
            else
                throw Illegal(reader, "Illegal oom score adjustment, expected -999 to 1000 or 'never'", scoreText);
        }
        else if (value == "never")
        {
            score = -1000;
        }
        else if (NumberParsing.TryParseSigned(value, 10, out var adj) && adj is >= -17 and <= 15)
        {
            // Legacy oom_adj scale (-17..15) converted to oom_score_adj as Upstart does (integer division).
            score = (int)(adj * 1000 / (adj < 0 ? 17 : 15));
        }
        else
        {
            throw Illegal(reader, "Illegal oom adjustment, expected -16 to 15 or 'never'", value);
        }
        reader.SkipComment();
        return score;
    }

    private static readonly string[] LimitResources =
        ["as", "core", "cpu", "data", "fsize", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack"];

    private static JobDefinition ParseLimit(ConfigReader reader, JobDefinition job)
    {
        var resource = reader.NextArgument();
        if (Array.IndexOf(LimitResources, resource) < 0)
            throw new ConfigSyntaxException(reader.Position, $"Unknown stanza 'limit {resource}': not a resource limit");
        reader.Context = "limit " + resource;
        var soft = ParseLimitValue(reader);
        var hard = ParseLimitValue(reader);
        reader.SkipComment();
        return job with { Limits = new Dictionary<string, ResourceLimit>(job.Limits) { [resource] = new ResourceLimit(soft, hard) } };
    }

    /// <summary>A limit value: <c>unlimited</c> (null), or strtoul's unsigned number where <c>-1</c> also means unlimited.</summary>
    private static ulong? ParseLimitValue(ConfigReader reader)
    {
        var value = reader.NextArgument();
        if (value == "unlimited")
            return null;
        if (!NumberParsing.TryParseUnsigned(value, 10, out var limit))
            throw Illegal(reader, "Illegal limit, expected 'unlimited' or integer", value);
        return limit == ulong.MaxValue ? null : limit;
    }

    private static JobDefinition ParseKill(ConfigReader reader, JobDefinition job)
    {
        var kind = ExpectSubword(reader, "kill", "timeout", "signal");
        reader.Context = "kill " + kind;
        if (kind == "signal")
            return job with { KillSignal = ParseSignal(reader) };

        var value = reader.NextArgument();
        if (!NumberParsing.TryParseSigned(value, 10, out var seconds) || seconds < 0 || seconds > int.MaxValue)
            throw Illegal(reader, "Illegal interval, expected number of seconds", value);
        reader.SkipComment();
        return job with { KillTimeout = TimeSpan.FromSeconds(seconds) };
    }

    /// <summary>
    /// Upstart reports a bad signal without a line number (spec §11); we give the line anyway because it helps.
    /// </summary>
    private static int ParseSignal(ConfigReader reader)
    {
        var value = reader.NextArgument();
        int signal;
        if (!char.IsAsciiDigit(value[0]) && Signals.TryParse(value, out var named))
            signal = named;
        else if (NumberParsing.TryParseUnsigned(value, 10, out var number) && number <= int.MaxValue)
            signal = (int)number;
        else
            throw Illegal(reader, "Illegal signal status, expected integer", value);
        reader.SkipComment();
        return signal;
    }

    private static JobDefinition ParseApparmor(ConfigReader reader, JobDefinition job)
    {
        var kind = ExpectSubword(reader, "apparmor", "load", "switch");
        reader.Context = "apparmor " + kind;
        var value = SingleArgument(reader);
        return kind == "load" ? job with { ApparmorLoad = value } : job with { ApparmorSwitch = value };
    }

    // memory max SIZE, tasks max N, cpu weight N: the kernel's own ranges (pids.max and cpu.weight).
    private static JobDefinition ParseCgroupLimit(ConfigReader reader, JobDefinition job, string name)
    {
        var key = ExpectSubword(reader, name, name == "cpu" ? "weight" : "max");
        reader.Context = $"{name} {key}";
        var text = reader.NextArgument();
        reader.SkipComment();
        if (name == "memory")
            return TryParseSize(text, out var bytes) ? job with { MemoryMax = bytes }
                : throw Illegal(reader, "Illegal memory size, expected bytes or a number with K, M or G suffix", text);
        var ok = NumberParsing.TryParseSigned(text, 10, out var number);
        if (name == "tasks")
            return ok && number is > 0 and <= int.MaxValue ? job with { TasksMax = number }
                : throw Illegal(reader, "Illegal tasks max, expected a positive integer", text);
        return ok && number is >= 1 and <= 10000 ? job with { CpuWeight = (int)number }
            : throw Illegal(reader, "Illegal cpu weight, expected an integer from 1 to 10000", text);
    }

    private static EnvFileReference ParseEnvFile(ConfigReader reader)
    {
        var value = reader.NextArgument();
        var optional = value.StartsWith('-');
        var path = optional ? value[1..] : value;
        if (path.Length == 0)
            throw new ConfigSyntaxException(reader.Position, "Expected token after env-file: a file path");
        reader.SkipComment();
        return new EnvFileReference(path, optional);
    }

    private static JobDefinition ParseLog(ConfigReader reader, JobDefinition job)
    {
        var kind = ExpectSubword(reader, "log", "rotate", "timestamps");
        reader.Context = "log " + kind;
        if (kind == "timestamps")
        {
            reader.SkipComment();
            return job with { LogTimestamps = true };
        }

        var sizeText = reader.NextArgument();
        if (!TryParseSize(sizeText, out var size))
            throw Illegal(reader, "Illegal log size, expected bytes or a number with K, M or G suffix", sizeText);
        var countText = reader.NextArgument();
        if (!NumberParsing.TryParseSigned(countText, 10, out var count) || count is < 0 or > int.MaxValue)
            throw Illegal(reader, "Illegal log file count, expected integer", countText);
        reader.SkipComment();
        return job with { LogRotate = new LogRotation(size, (int)count) };
    }

    /// <summary>A positive byte count with an optional binary suffix: <c>1048576</c>, <c>512K</c>, <c>50M</c>, <c>1G</c>.</summary>
    internal static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var multiplier = 1L;
        var digits = text;
        if (text.Length > 1 && char.ToUpperInvariant(text[^1]) is 'K' or 'M' or 'G')
        {
            multiplier = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, _ => 1L << 30 };
            digits = text[..^1];
        }
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0
            || number > long.MaxValue / multiplier)
            return false;
        bytes = number * multiplier;
        return true;
    }

    private static ConfigSyntaxException Illegal(ConfigReader reader, string upstartMessage, string value) =>
        new(reader.Position, $"{upstartMessage} (got '{value}')");
}
