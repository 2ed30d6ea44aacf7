using System.Runtime.InteropServices;
using System.Text;

namespace Supervisor.Core.Processes;

/// <summary>A NUL-terminated UTF-8 copy of a string in native memory, for the duration of one native call.</summary>
internal readonly unsafe struct NativeString : IDisposable
{
    public NativeString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        Pointer = (byte*)NativeMemory.Alloc((nuint)count + 1);
        var written = Encoding.UTF8.GetBytes(value, new Span<byte>(Pointer, count));
        Pointer[written] = 0;
    }

    public byte* Pointer { get; }

    public void Dispose() => NativeMemory.Free(Pointer);
}

/// <summary>A NULL-terminated array of C strings (argv, envp) in native memory.</summary>
internal readonly unsafe struct NativeStringArray : IDisposable
{
    private readonly NativeString[] _items;

    public NativeStringArray(IReadOnlyList<string> values)
    {
        _items = new NativeString[values.Count];
        Pointer = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < values.Count; i++)
        {
            _items[i] = new NativeString(values[i]);
            Pointer[i] = _items[i].Pointer;
        }
        Pointer[values.Count] = null;
    }

    public byte** Pointer { get; }

    public void Dispose()
    {
        foreach (var item in _items) item.Dispose();
        NativeMemory.Free(Pointer);
    }
}
