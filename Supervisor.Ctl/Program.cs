using Supervisor.Ctl.Commands;

// supctl: parse, call, format. Exit statuses: Commands/ExitCodes.cs.
var arguments = Invocation.Rewrite(args);
return await CtlCommandLine.For(arguments).RunAsync(arguments);
