using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Supervisor.Core.Interop;

namespace Supervisor.Core.State;

/// <summary>Where the loop hands its goals; must not block (the loop calls it).</summary>
public interface IGoalStore
{
    void Save(GoalState state);
}

/// <summary>
/// <c>STATEDIR/goals.json</c>. <see cref="Save"/> only hands the latest state to a writer task, which skips a state
/// equal to the last one written and writes atomically: temp file, fsync, rename, fsync of the directory. So the loop
/// never waits on the disk, a burst of changes costs one write, and a crash leaves the old file or the new one, whole.
/// A file that cannot be read or parsed is reported (one line naming it) and set aside as <c>goals.json.corrupt-TIMESTAMP</c>.
/// </summary>
public sealed partial class GoalStore : IGoalStore, IAsyncDisposable
{
    private const int Mode0600 = 0x180;

    private readonly Channel<(GoalState State, long Sequence)> _pending = Channel.CreateBounded<(GoalState, long)>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Task _writer;
    private byte[] _written = [];
    private string? _lastFailure;

    public GoalStore(string stateDirectory, ILogger<GoalStore> log, TimeProvider? time = null)
    {
        FilePath = System.IO.Path.Combine(stateDirectory, "goals.json");
        _log = log;
        // One written by an older supd was 0644: it holds job variables.
        Supervisor.Core.Processes.NoFollowFile.Chmod(FilePath, Mode0600);
        _time = time ?? TimeProvider.System;
        _writer = Task.Run(WriteLoopAsync);
    }

    public string FilePath { get; }

    /// <summary>Writes that failed (each is logged); the next change tries again.</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);
    private long _writeFailures;

    /// <summary>The saved state; empty when there is none, or when the file was corrupt (then it is set aside).</summary>
    public GoalState Load()
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(FilePath)) return GoalState.Empty;
            bytes = Language.RegularFile.ReadAllBytes(FilePath, Limits.MaxGoalsFileBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return SetAside($"cannot be read ({e.Message})");
        }
        GoalState? state;
        try
        {
            state = JsonSerializer.Deserialize(bytes, GoalStateJson.Default.GoalState);
        }
        catch (JsonException e)
        {
            return SetAside($"is not valid ({e.Message})");
        }
        if (GoalStateValidation.Problem(state) is { } problem) return SetAside(problem);
        _written = bytes;
        // A version 1 file has no disabled list; the source-generated reader leaves a missing init-only list null.
        return state!.Disabled is null ? state with { Disabled = [] } : state; // validated: not null
    }

    private GoalState SetAside(string problem)
    {
        var aside = $"{FilePath}.corrupt-{_time.GetUtcNow():yyyyMMddTHHmmssZ}";
        try
        {
            File.Move(FilePath, aside, overwrite: true);
            LogSetAside(FilePath, problem, aside);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCannotSetAside(FilePath, problem, e.Message);
        }
        return GoalState.Empty;
    }

    public void Save(GoalState state) => _pending.Writer.TryWrite((state, Interlocked.Increment(ref _handed)));

    // Saves handed to the writer, and the last one it has dealt with (written, equal to the file, or failed).
    private long _handed;
    private long _done;

    /// <summary>
    /// True once every state handed so far is in the file (a re-exec's next image reads it); false past the timeout, or
    /// when the last write failed.
    /// </summary>
    public async Task<bool> FlushAsync(TimeSpan timeout)
    {
        var target = Interlocked.Read(ref _handed);
        var start = _time.GetTimestamp();
        while (Interlocked.Read(ref _done) < target)
        {
            if (_time.GetElapsedTime(start) > timeout) return false;
            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }
        return Volatile.Read(ref _lastFailure) is null;
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var (state, sequence) in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                Write(state);
            }
            finally
            {
                // DropOldest may skip a sequence: the newer state covers it.
                Interlocked.Exchange(ref _done, sequence);
            }
        }
    }

    private void Write(GoalState state)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state, GoalStateJson.Default.GoalState);
        if (bytes.AsSpan().SequenceEqual(_written)) return;
        try
        {
            WriteAtomically(bytes);
            _written = bytes;
            if (_lastFailure is not null) LogWriteRecovered(FilePath, WriteFailures);
            _lastFailure = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _writeFailures);
            // Once per distinct reason: a read-only state dir must not flood the log at every state change.
            if (e.Message != _lastFailure) LogWriteFailed(FilePath, e.Message);
            _lastFailure = e.Message;
        }
    }

    private void WriteAtomically(byte[] bytes)
    {
        var temp = FilePath + ".tmp";
        // 0600 (it holds job variables), created anew and never through a symlink; the rename gives goals.json its mode.
        using (var file = Supervisor.Core.Processes.NoFollowFile.Create(temp, Mode0600))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, FilePath, overwrite: true);
        SyncDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
    }

    private static void SyncDirectory(string directory)
    {
        var fd = Libc.Open(directory, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {directory}: {Errno.Last}");
        try
        {
            if (Libc.Fsync(fd) < 0) throw new IOException($"cannot fsync {directory}: {Errno.Last}");
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Writes the last state handed over, then stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Error, Message = "State file {Path} {Problem}; set aside as {Aside}, starting without saved goals")]
    private partial void LogSetAside(string path, string problem, string aside);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "State file {Path} {Problem}, and it could not be set aside ({Reason}); starting without saved goals")]
    private partial void LogCannotSetAside(string path, string problem, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Error, Message = "Cannot write state file {Path}: {Reason}; the next change tries again")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "State file {Path} written again ({Failures} failed writes so far)")]
    private partial void LogWriteRecovered(string path, long failures);
}
