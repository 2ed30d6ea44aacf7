namespace Supervisor.Core.Survival;

/// <summary>
/// Keeps nothing: the mode of supd as PID 1 of a container (its death ends the container anyway), and what
/// <see cref="PipeKeeper.Open"/> falls back to when no keeper can be had (the reason is in the description).
/// </summary>
public sealed class NullPipeKeeper(string why) : IPipeKeeper
{
    public string Description { get; } = $"none ({why})";
    public bool IsActive => false;
    public long Failures => 0;
    public IReadOnlyDictionary<string, int> TakeRecovered() => new Dictionary<string, int>();
    public void Keep(string name, int fd) { }
    public void Forget(string name) { }
    public void Release() { }
    public void Detach() { }
    public void Dispose() { }
}
