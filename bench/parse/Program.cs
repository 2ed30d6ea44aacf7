using System.Diagnostics;
using Supervisor.Core.Language;

// Parses every *.conf of a directory 100 times and prints the mean time per file.
// Default: the real-world corpus the tests use, from the repository root.
var directory = args.Length > 0 ? args[0] : "Supervisor.Tests/TestData/upstart-corpus";
const int Rounds = 100;

var files = Directory.GetFiles(directory, "*.conf").Order(StringComparer.Ordinal)
    .Select(path => (Path: path, Name: Path.GetFileNameWithoutExtension(path), Text: File.ReadAllText(path)))
    .ToArray();
if (files.Length == 0)
{
    Console.Error.WriteLine($"no .conf files in {directory}");
    return 1;
}

var parsed = 0;
foreach (var (path, name, text) in files)
{
    var result = JobParser.Parse(name, path, text);
    if (result.Error is { } error)
        Console.WriteLine($"rejected: {error}");
    else
        parsed++;
}
Console.WriteLine($"{files.Length} files: {parsed} parse, {files.Length - parsed} rejected");

// Warm-up round so the JIT is out of the measurement.
foreach (var (path, name, text) in files) JobParser.Parse(name, path, text);

var stopwatch = Stopwatch.StartNew();
for (var round = 0; round < Rounds; round++)
{
    foreach (var (path, name, text) in files) JobParser.Parse(name, path, text);
}
stopwatch.Stop();

var meanMicroseconds = stopwatch.Elapsed.TotalMicroseconds / (Rounds * files.Length);
Console.WriteLine($"{Rounds} rounds x {files.Length} files: mean {meanMicroseconds:F1} µs per file");
return 0;
