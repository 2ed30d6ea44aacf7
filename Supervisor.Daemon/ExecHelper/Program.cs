using Supervisor.Core.Processes;

// supd-exec --exec-helper OPTIONS -- FILE ARGV…: apply what posix_spawn could not and exec the job (ExecHelper.Run).
// Started only by supd; anything else is refused.
if (args.Length == 0 || args[0] != ExecHelper.Flag)
{
    Console.Error.WriteLine($"supd-exec: started by supd only ({ExecHelper.Flag} OPTIONS -- FILE ARGV...)");
    return 2;
}
return ExecHelper.Run(args);
