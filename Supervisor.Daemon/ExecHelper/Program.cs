using Supervisor.Core.Processes;
using Supervisor.Core.Processes.Forking;
using Supervisor.Core.Survival;

// supd-exec --fd-holder: the process that holds job output pipes across a crash of supd (FdHolder.Run).
if (args.Length > 0 && args[0] == FdHolder.Flag) return FdHolder.Run(args);

// supd-exec --fork-server: the exec helper kept running, cloning each job that needs it (ForkServer.Run).
if (args.Length > 0 && args[0] == ForkServer.Flag) return ForkServer.Run(args);

// supd-exec --exec-helper OPTIONS -- FILE ARGV…: apply what posix_spawn could not and exec the job (ExecHelper.Run).
// Started only by supd; anything else is refused.
if (args.Length == 0 || args[0] != ExecHelper.Flag)
{
    Console.Error.WriteLine($"supd-exec: started by supd only ({ExecHelper.Flag} OPTIONS -- FILE ARGV..., {ForkServer.Flag} or {FdHolder.Flag})");
    return 2;
}
return ExecHelper.Run(args);
