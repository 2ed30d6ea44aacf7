namespace Supervisor.Core.Language;

/// <summary>
/// Finds and parses the job files of one or more job directories (spec §1): <c>NAME.conf</c> anywhere below a
/// directory is job <c>NAME</c> (relative path, '/'-separated), <c>NAME.override</c> next to it is applied on top.
/// Hidden files are loaded (<c>.foo.conf</c> is job <c>.foo</c>); hidden, backup, VCS and packaging directories are
/// skipped; symlinks are followed. The first directory that has a job name owns it.
/// </summary>
public static class JobDirectoryLoader
{
    private const string ConfSuffix = ".conf";
    private const string OverrideSuffix = ".override";

    public static JobLoadResult Load(IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var jobs = new SortedDictionary<string, JobDefinition>(StringComparer.Ordinal);
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var errors = new List<ParseError>();

        foreach (var directory in directories)
        {
            var found = new Dictionary<string, (string? Conf, string? Override)>(StringComparer.Ordinal);
            Walk(directory, directory, found, errors, new HashSet<string>(StringComparer.Ordinal));

            foreach (var (name, files) in found.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                // An override without its .conf is ignored; a name already owned by an earlier directory too.
                if (files.Conf is null || !claimed.Add(name))
                    continue;
                var result = LoadJob(name, files.Conf, files.Override);
                if (result.Job is not null)
                    jobs[name] = result.Job;
                else
                    errors.Add(result.Error!);
            }
        }
        return new JobLoadResult(jobs.Values.ToList(), errors);
    }

    private static JobParseResult LoadJob(string name, string confPath, string? overridePath)
    {
        if (!TryRead(confPath, out var confText, out var confError))
            return new JobParseResult(null, confError);
        string? overrideText = null;
        if (overridePath is not null && !TryRead(overridePath, out overrideText, out var overrideError))
            return new JobParseResult(null, overrideError! with { Message = JobParser.OverrideRejectedPrefix + overrideError.Message });
        return Parse(name, confPath, confText!, overrideText is null ? null : overridePath, overrideText);
    }

    // A job parsed from its file (and override), remembering what it was read from (JobDefinition.SourceText).
    private static JobParseResult Parse(string name, string confPath, string confText, string? overridePath, string? overrideText)
    {
        var result = JobParser.Parse(name, confPath, confText, overridePath, overrideText);
        return result.Job is null ? result : result with { Job = result.Job with { SourceText = string.Join('\0', confPath, confText, overridePath ?? "", overrideText ?? "") } };
    }

    /// <summary>
    /// A job parsed again from the <see cref="JobDefinition.SourceText"/> a load gave it, as that load parsed it (a
    /// re-exec hands an instance's definition over this way); null when the text is not such a source or no longer parses.
    /// </summary>
    public static JobDefinition? Reparse(string name, string sourceText)
    {
        var parts = sourceText.Split('\0');
        if (parts.Length != 4) return null;
        return Parse(name, parts[0], parts[1], parts[2].Length == 0 ? null : parts[2], parts[2].Length == 0 ? null : parts[3]).Job;
    }


    private static bool TryRead(string path, out string? text, out ParseError? error)
    {
        try
        {
            text = RegularFile.ReadAllText(path, Limits.MaxJobFileBytes);
            error = null;
            return true;
        }
        catch (FileTooLargeException e)
        {
            text = null;
            error = new ParseError(path, 0, e.Message);
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            text = null;
            error = new ParseError(path, 0, "Unable to read file: " + Describe(e));
            return false;
        }
    }

    private static void Walk(string root, string directory, Dictionary<string, (string? Conf, string? Override)> found,
        List<ParseError> errors, HashSet<string> visited)
    {
        // Symlinked directories are followed; the real paths of the directories being walked (the current
        // chain only) stop a link loop from recursing forever.
        string realPath;
        IEnumerable<FileSystemInfo> entries;
        try
        {
            var info = new DirectoryInfo(directory);
            if (!info.Exists)
                return;
            realPath = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
            if (!visited.Add(realPath))
                return;
            entries = info.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            errors.Add(new ParseError(directory, 0, "Unable to read directory: " + Describe(e)));
            return;
        }

        foreach (var entry in entries)
        {
            bool isDirectory;
            try
            {
                isDirectory = entry.LinkTarget is not null
                    ? entry.ResolveLinkTarget(returnFinalTarget: true) is DirectoryInfo { Exists: true }
                    : entry is DirectoryInfo;
            }
            catch (IOException)
            {
                continue;   // dangling or looping link: stat() fails, Upstart skips it as well
            }

            if (isDirectory)
            {
                if (!IsIgnoredDirectory(entry.Name))
                    Walk(root, entry.FullName, found, errors, visited);
                continue;
            }

            var isConf = entry.Name.EndsWith(ConfSuffix, StringComparison.Ordinal);
            var isOverride = entry.Name.EndsWith(OverrideSuffix, StringComparison.Ordinal);
            if (!isConf && !isOverride)
                continue;
            var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var name = relative[..^(isConf ? ConfSuffix.Length : OverrideSuffix.Length)];
            // A file named just ".conf" has no job name.
            if (name.Length == 0 || name.EndsWith('/'))
                continue;
            found.TryGetValue(name, out var files);
            found[name] = isConf ? files with { Conf = entry.FullName } : files with { Override = entry.FullName };
        }
        visited.Remove(realPath);
    }

    /// <summary>libnih's directory filter: hidden, backup, swap, revision-control and packaging names.</summary>
    private static bool IsIgnoredDirectory(string name) =>
        name.StartsWith('.')
        || name.EndsWith('~')
        || name.StartsWith('#') && name.EndsWith('#')
        || name.EndsWith(".bak", StringComparison.Ordinal) || name.EndsWith(".swp", StringComparison.Ordinal)
        || name is "CVS" or "RCS" or "SCCS" or "BitKeeper" or "_darcs" or "{arch}"
        || name.EndsWith(",v", StringComparison.Ordinal)
        || name.Contains(".dpkg-", StringComparison.Ordinal)
        || name.EndsWith(".rpmsave", StringComparison.Ordinal) || name.EndsWith(".rpmorig", StringComparison.Ordinal)
        || name.EndsWith(".rpmnew", StringComparison.Ordinal);

    private static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => "Permission denied",
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        _ => e.Message,
    };
}
