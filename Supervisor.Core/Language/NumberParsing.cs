using System.Globalization;

namespace Supervisor.Core.Language;

/// <summary>
/// strtol/strtoul as Upstart uses them: optional leading whitespace and sign, at least one digit, nothing after.
/// Keeping C's rules matters for edge cases such as <c>limit nofile -1 -1</c> (unsigned wrap = unlimited).
/// </summary>
internal static class NumberParsing
{
    public static bool TryParseSigned(string text, int radix, out long value)
    {
        value = 0;
        if (!TrySplit(text, out var negative, out var digits)) return false;
        if (!TryParseMagnitude(digits, radix, out var magnitude)) return false;
        if (negative ? magnitude > (ulong)long.MaxValue + 1 : magnitude > long.MaxValue) return false;
        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }

    /// <summary>strtoul: a leading minus negates in unsigned arithmetic (<c>-1</c> becomes the maximum value).</summary>
    public static bool TryParseUnsigned(string text, int radix, out ulong value)
    {
        value = 0;
        if (!TrySplit(text, out var negative, out var digits)) return false;
        if (!TryParseMagnitude(digits, radix, out var magnitude)) return false;
        value = negative ? unchecked(0 - magnitude) : magnitude;
        return true;
    }

    /// <summary>Seconds with an optional fraction (<c>0.5</c>, <c>2</c>): our own extensions' number format.</summary>
    public static bool TryParseSeconds(string text, out double seconds) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out seconds)
        && double.IsFinite(seconds);

    private static bool TrySplit(string text, out bool negative, out ReadOnlySpan<char> digits)
    {
        var span = text.AsSpan().TrimStart(" \t\n\r\f\v");
        negative = false;
        if (span.Length > 0 && span[0] is '+' or '-')
        {
            negative = span[0] == '-';
            span = span[1..];
        }
        digits = span;
        return span.Length > 0;
    }

    private static bool TryParseMagnitude(ReadOnlySpan<char> digits, int radix, out ulong value)
    {
        value = 0;
        foreach (var c in digits)
        {
            var digit = c is >= '0' and <= '9' ? c - '0' : 99;
            if (digit >= radix) return false;
            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)radix) return false;
            value = value * (ulong)radix + (ulong)digit;
        }
        return true;
    }
}
