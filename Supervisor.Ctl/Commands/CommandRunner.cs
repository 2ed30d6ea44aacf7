using System.CommandLine;
using Grpc.Core;
using Supervisor.Ctl.Formatting;
using ProtoClient = Supervisor.Protocol.Supervisor.SupervisorClient;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// Runs one verb against supd: connects, calls, and turns a failure into its line on stderr (supd's message after
/// "supctl: ", explanation lines indented below) and its <see cref="Outcome"/>; <see cref="ExitCodes"/> makes the status.
/// </summary>
internal static class CommandRunner
{
    public static Output OutputFor(ParseResult parse) => Output.Console(parse.GetValue(JsonOutput.Option));

    public static async Task<int> RunAsync(ParseResult parse, Func<ProtoClient, Output, Task<Outcome>> call) =>
        ExitCodes.For(await CallAsync(parse, call).ConfigureAwait(false));

    /// <summary>For a verb whose outcome is the call's (most): success unless supd refuses.</summary>
    public static Task<int> RunAsync(ParseResult parse, Func<ProtoClient, Output, Task> call) =>
        RunAsync(parse, async (client, output) =>
        {
            await call(client, output).ConfigureAwait(false);
            return Outcome.Success;
        });

    public static async Task<Outcome> CallAsync(ParseResult parse, Func<ProtoClient, Output, Task<Outcome>> call)
    {
        var output = OutputFor(parse);
        using var connection = new SupdConnection(SupdConnection.ResolveSocket(parse.GetValue(CtlCommandLine.Socket)));
        try
        {
            return await call(connection.Client, output).ConfigureAwait(false);
        }
        catch (RpcException e) when (SupdConnection.AsConnectFailure(e) is { } failure)
        {
            output.Error(failure.Message);
            return failure.Outcome;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            return Outcome.Interrupted;
        }
        catch (RpcException e)
        {
            output.Error(string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail);
            return ExitCodes.Of(e.StatusCode);
        }
    }

    /// <summary>Upstart's "missing job name" usage error.</summary>
    public static int MissingJob(ParseResult parse)
    {
        OutputFor(parse).Usage("missing job name");
        return ExitCodes.For(Outcome.Usage);
    }
}
