using Supervisor.Ctl.Commands;

// supctl: parse, call, format. Exit statuses: Commands/ExitCodes.cs.
return await new CtlCommandLine().RunAsync(Invocation.Rewrite(args));
