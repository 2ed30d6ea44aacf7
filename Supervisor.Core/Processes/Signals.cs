namespace Supervisor.Core;

/// <summary>Linux signal numbers (x86_64/arm64 generic) and Upstart's names for them (nih/signal.c).</summary>
public static class Signals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12,
        SIGPIPE = 13, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19;

    private static readonly (string Name, int Number)[] Table =
    [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("IOT", 6), ("BUS", 7),
        ("FPE", 8), ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13), ("ALRM", 14),
        ("TERM", 15), ("STKFLT", 16), ("CHLD", 17), ("CLD", 17), ("CONT", 18), ("STOP", 19), ("TSTP", 20),
        ("TTIN", 21), ("TTOU", 22), ("URG", 23), ("XCPU", 24), ("XFSZ", 25), ("VTALRM", 26), ("PROF", 27),
        ("WINCH", 28), ("IO", 29), ("POLL", 29), ("PWR", 30), ("SYS", 31), ("UNUSED", 31),
    ];

    /// <summary>Parses an Upstart signal name (<c>TERM</c> or <c>SIGTERM</c>, case-sensitive) or a number.</summary>
    public static bool TryParse(string text, out int signal)
    {
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out signal))
            return true;
        var name = text.StartsWith("SIG", StringComparison.Ordinal) ? text[3..] : text;
        foreach (var (n, number) in Table)
        {
            if (n == name) { signal = number; return true; }
        }
        signal = 0;
        return false;
    }

    /// <summary>The name without SIG (<c>TERM</c>), or the number when it has none (as Upstart's EXIT_SIGNAL).</summary>
    public static string Name(int signal)
    {
        foreach (var (n, number) in Table)
        {
            if (number == signal) return n;
        }
        return signal.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
