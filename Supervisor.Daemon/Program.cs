using System.CommandLine;
using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Forking;
using Supervisor.Core.Survival;
using Supervisor.Daemon.Hosting;

// The fd holder first of all (supd --fd-holder, when supd-exec is not installed beside supd): it holds job output
// pipes across a crash of supd and must touch nothing else of supd (FdHolder.Run).
if (args.Length > 0 && args[0] == FdHolder.Flag) return FdHolder.Run(args);
// Helper mode first, before System.CommandLine or the host are touched: supd started by itself to apply a job's
// limits, credentials and chroot and exec the job (ExecHelper). It must start fast and run nothing else.
if (args.Length > 0 && args[0] == ExecHelper.Flag) return ExecHelper.Run(args);
// The fork server (supd --fork-server, when supd-exec is not installed beside supd): the exec helper kept running,
// cloning the jobs that need it (ForkServer). Like the helper, it touches nothing else of supd.
if (args.Length > 0 && args[0] == ForkServer.Flag) return ForkServer.Run(args);
// Asked by a supd about to re-execute into this binary: which handover formats it reads.
if (args is [HandoverFlags.Formats])
{
    Console.WriteLine(Supervisor.Core.Handover.HandoverFile.FormatsLine);
    return 0;
}
var handover = HandoverStart.Take(ref args);
if (handover.Error is { } unreadable) Console.Error.WriteLine($"supd: the state handed over by the previous image cannot be used: {unreadable}");
return await RunSupdAsync(args, handover);

// supd: parse the flags, then check the job files (--check) or run the host. Errors a user can cause end as one
// line on stderr.
static async Task<int> RunSupdAsync(string[] args, HandoverStart handover)
{
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
            return await SupdHost.RunAsync(configuration, configFile, handover);
        }
        catch (Exception e) when (StartupException.Describe(e) is { } reason)
        {
            Console.Error.WriteLine($"supd: {reason}");
            return 1;
        }
    });
    return await parse.InvokeAsync();
}
