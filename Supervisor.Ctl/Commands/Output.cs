using Google.Protobuf;
using Supervisor.Ctl.Formatting;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// The one place supctl writes to stdout and stderr. Verbs hand it text their formatters made, or a reply: with
/// <c>--json</c> the reply is written as one JSON document (<see cref="JsonOutput"/>), else its text; that choice is
/// made here, once, not in each verb.
/// </summary>
internal sealed class Output(TextWriter stdout, TextWriter stderr, bool json)
{
    public static Output Console(bool json) => new(CtlStreams.Out, CtlStreams.Error, json);

    /// <summary>--json was given.</summary>
    public bool Json { get; } = json;

    public void Line(string line) => stdout.WriteLine(line);

    public void Lines(IEnumerable<string> lines)
    {
        foreach (var line in lines) stdout.WriteLine(line);
    }

    /// <summary>Text as supd made it (show-config, check-config), without a newline added.</summary>
    public void Text(string text) => stdout.Write(text);

    /// <summary>The reply as JSON with --json, else the lines <paramref name="text"/> gives (none: nothing printed).</summary>
    public void Reply(IMessage reply, Func<IEnumerable<string>>? text = null)
    {
        if (Json) stdout.WriteLine(JsonOutput.Document(reply));
        else if (text is not null) Lines(text());
    }

    /// <summary>A JSON document with --json, else the lines <paramref name="text"/> gives.</summary>
    public void Reply(Func<string> json, Func<IEnumerable<string>> text)
    {
        if (Json) stdout.WriteLine(json());
        else Lines(text());
    }

    /// <summary>A line on stderr: <c>supctl: MESSAGE</c> (the name supctl was called by).</summary>
    public void Error(string message) => stderr.WriteLine($"{Invocation.ProgramName}: {message}");

    /// <summary>A line on stderr as it is (reload-configuration's <c>PATH:LINE: message</c>).</summary>
    public void ErrorLine(string line) => stderr.WriteLine(line);

    /// <summary>Upstart's usage error: the message, then where to look.</summary>
    public void Usage(string message)
    {
        Error(message);
        stderr.WriteLine($"Try `{Invocation.ProgramName} --help' for more information.");
    }

    /// <summary>For streams (log, events -f): what has been written reaches the reader now.</summary>
    public Task FlushAsync() => stdout.FlushAsync(CancellationToken.None);

    /// <summary>stdout as bytes, for a job's log as the job wrote it.</summary>
    public static Stream RawStdout() => CtlStreams.OpenRawOut();
}
