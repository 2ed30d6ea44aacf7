using NUnit.Framework;

// Integration tests each run their own supd on their own socket and temp dirs, so they can run side by side.
// Three fixtures at a time on the 2-core machine CI runs on: the suite is CPU-bound (mostly .NET process starts, about
// five hundred since supctl runs in-process in the JIT flavour), and more workers only add contention. Whole
// `dotnet test --no-build` runs of 2026-12-05, before that change: 3 workers 434 s (730 s of CPU), 6 workers 494 s
// (794 s of CPU, load average 20-25); docs/BENCHMARKS.md, "The test suite's time".
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(3)]
