using System.Runtime.InteropServices;

namespace Supervisor.Core.Interop;

/// <summary>
/// Random bytes from the kernel (getrandom(2)). Not <c>RandomNumberGenerator</c>: in a NativeAOT supd that loads
/// OpenSSL, which a slim container image lacks (supd must need only glibc; a native test checks its maps).
/// </summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Name, EntryPoint = "getrandom", SetLastError = true)]
    private static partial nint GetRandom(byte* buffer, nuint length, uint flags);

    /// <summary>Fills <paramref name="buffer"/> from the kernel's CSPRNG (blocking only until it is first seeded).</summary>
    internal static void FillRandom(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var got = GetRandom(start + done, (nuint)(buffer.Length - done), 0);
                if (got > 0) done += (int)got;
                else if (got < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
                    throw new IOException($"getrandom: {Errno.Last.Message}");
            }
        }
    }

    /// <summary>128 random bits as 32 lower-case hex digits.</summary>
    internal static string RandomHex128()
    {
        Span<byte> bytes = stackalloc byte[16];
        FillRandom(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
