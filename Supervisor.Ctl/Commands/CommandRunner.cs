using Grpc.Core;
using Supervisor.Ctl.Connection;

namespace Supervisor.Ctl.Commands;

/// <summary>
/// Runs one verb against supd and turns the outcome into output and an exit status: 0 on success, 1 when supd
/// refuses (its message after "supctl: ", explanation lines indented below) or cannot be reached.
/// </summary>
internal sealed class CommandRunner(string? socketOption)
{
    public const int Success = 0, Refused = 1, Usage = 2;

    /// <summary>is-running's LSB statuses (init-functions' status_of_proc): not running, unknown.</summary>
    public const int NotRunning = 3, StatusUnknown = 4;

    /// <summary>Upstart's "missing job name" usage error.</summary>
    public static int MissingJob()
    {
        Console.Error.WriteLine($"{Invocation.ProgramName}: missing job name");
        Console.Error.WriteLine($"Try `{Invocation.ProgramName} --help' for more information.");
        return Usage;
    }

    public Task<int> RunAsync(Func<Supervisor.Protocol.Supervisor.SupervisorClient, TextWriter, Task> call) =>
        RunAsync(async (client, output) =>
        {
            await call(client, output).ConfigureAwait(false);
            return Success;
        });

    /// <summary>As above, for a verb whose successful call still decides the exit status (check-config).</summary>
    public async Task<int> RunAsync(Func<Supervisor.Protocol.Supervisor.SupervisorClient, TextWriter, Task<int>> call)
    {
        var socket = SupdConnection.ResolveSocket(socketOption);
        var connection = new SupdConnection(socket);
        try
        {
            return await call(connection.Client, Console.Out).ConfigureAwait(false);
        }
        catch (RpcException e) when (SupdConnection.AsConnectFailure(e) is { } failure)
        {
            await Console.Error.WriteLineAsync($"{Invocation.ProgramName}: {failure.Message}").ConfigureAwait(false);
            return Refused;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            return Refused;
        }
        catch (RpcException e)
        {
            var detail = string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
            await Console.Error.WriteLineAsync($"{Invocation.ProgramName}: {detail}").ConfigureAwait(false);
            return Refused;
        }
    }
}
