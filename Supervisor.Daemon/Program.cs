using System.CommandLine;
using Supervisor.Daemon.Hosting;

// supd: parse the flags, then run the host. Errors a user can cause end as one line on stderr.
var commandLine = new SupdCommandLine();
var parse = commandLine.Root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"supd: {error.Message}");
    Console.Error.WriteLine("Try `supd --help' for more information.");
    return 2;
}

commandLine.Root.SetAction(async (result, _) =>
{
    try
    {
        var configuration = commandLine.ToConfiguration(result);
        var configFile = result.GetValue(commandLine.ConfigFile);
        if (result.GetValue(commandLine.Check))
            return JobFileCheck.Run(configuration, configFile, Console.Out, Console.Error);
        return await SupdHost.RunAsync(args, configuration, configFile);
    }
    catch (StartupException e)
    {
        Console.Error.WriteLine($"supd: {e.Message}");
        return 1;
    }
});
return await parse.InvokeAsync();
