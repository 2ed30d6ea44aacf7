namespace Supervisor.Core.Language;

/// <summary>
/// Raised inside the parser at the offset where a problem was found; turned into a <see cref="ParseError"/>
/// (with the line computed from the offset) before it leaves <see cref="JobParser"/>.
/// </summary>
internal sealed class ConfigSyntaxException(int position, string message) : Exception(message)
{
    public int Position { get; } = position;
}
