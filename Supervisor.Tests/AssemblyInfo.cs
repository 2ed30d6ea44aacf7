using NUnit.Framework;

// Integration tests each run their own supd on their own socket and temp dirs, so they can run side by side.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(4)]
