using Supervisor.Ctl.Commands;

// supctl: parse, call, format. Usage errors exit 2, refusals 1.
var commandLine = new CtlCommandLine();
var parse = commandLine.Root.Parse(Invocation.Rewrite(args));
if (parse.Errors.Count > 0)
{
    if (VerbSuggestion.UnknownVerb(parse, commandLine.Root) is { } unknownVerb)
    {
        Console.Error.WriteLine($"{Invocation.ProgramName}: {unknownVerb}");
        return CommandRunner.Usage;
    }
    foreach (var error in parse.Errors) Console.Error.WriteLine($"{Invocation.ProgramName}: {error.Message}");
    Console.Error.WriteLine($"Try `{Invocation.ProgramName} --help' for more information.");
    return CommandRunner.Usage;
}
return await parse.InvokeAsync();
