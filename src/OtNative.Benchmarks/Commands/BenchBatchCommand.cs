using System.ComponentModel;
using System.Diagnostics;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench batch</c>: problems per second of the batched API (values and gradients of many small independent
/// problems on all cores) against a loop of single solves, in the same run on the same problems, and against the
/// exp-throughput limit of that work: every streamed pass costs n·m exponentials (two an iteration, two to measure
/// the returned plan, one for the gradient's P y), at the cost per element measured on this machine.
/// </summary>
public sealed class BenchBatchCommand : Command<BenchBatchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--problems <N>")]
        [Description("How many problems (default 10000).")]
        [DefaultValue(10_000)]
        public int Problems { get; init; } = 10_000;

        [CommandOption("--size <N>")]
        [Description("n = m of every problem (default 64).")]
        [DefaultValue(64)]
        public int Size { get; init; } = 64;

        [CommandOption("--dim <D>")]
        [Description("Dimension d (default 3).")]
        [DefaultValue(3)]
        public int Dim { get; init; } = 3;

        [CommandOption("--hvp")]
        [Description("Also one Hessian-vector product per problem.")]
        public bool Hvp { get; init; }

        [CommandOption("--simd <WIDTH>")]
        [Description("SIMD width of the CPU kernels: 512, 256, 128 or scalar (default: the width in use, `otnative info`).")]
        public string? Simd { get; init; }

        [CommandOption("--mpi")]
        [Description("Run under mpiexec -n K: the batch spread across the K ranks (MpiSession.SolveBatch) against one process's batch; rank 0 reports.")]
        public bool Mpi { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-batch.json).")]
        [DefaultValue("bench-batch.json")]
        public string Json { get; init; } = "bench-batch.json";

        public override ValidationResult Validate() =>
            Problems < 1 || Size < 1 || Dim < 1 ? ValidationResult.Error("--problems, --size and --dim must be positive.") : ValidationResult.Success();
    }

    /// <summary>The measurement.</summary>
    public sealed record Outcome(int Problems, int N, int D, bool Hvp, int Cores, double BatchSeconds, double LoopSeconds,
        double BatchProblemsPerSecond, double LoopProblemsPerSecond, double Speedup, double MaxValueDifference,
        double ParallelForSeconds, double ParallelForProblemsPerSecond, double SpeedupOverParallelFor,
        double BatchBytesPerProblem, double ParallelForBytesPerProblem,
        double MeanIterations, double ExpNanosecondsPerElement, double ExpLimitProblemsPerSecond, string Simd,
        double MixedBatchSeconds, double MixedBatchProblemsPerSecond, double MixedMeanIterations, double MixedMaxValueDifference);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Mpi) RunDistributed(settings);
        else Run(settings);
        return 0;
    }

    /// <summary>The distributed measurement: the batch across the ranks, and on rank 0 alone, on the same problems.</summary>
    public sealed record DistributedOutcome(int Problems, int N, int D, bool Hvp, int Ranks, int ThreadsPerRank, double DistributedSeconds,
        double SingleProcessSeconds, double DistributedProblemsPerSecond, double SingleProcessProblemsPerSecond, double Speedup,
        double MaxValueDifference);

    /// <summary>
    /// <c>bench batch --mpi</c>: every rank draws the same problems; the batch runs across the ranks, then rank 0 runs it
    /// alone (the others wait), and rank 0 prints and saves both.
    /// </summary>
    public static DistributedOutcome? RunDistributed(Settings s)
    {
        var session = MpiRun.Join();
        var (pairs, directions) = Draw(s);
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.05, EpsilonRelative = true, VectorWidth = WidthOf(s) };
        session.SolveBatch(pairs[..Math.Min(64, pairs.Length)], options, hvpDirections: directions?[..Math.Min(64, pairs.Length)]);
        var (distributed, distributedSeconds, _) = Measure("batch across ranks", $"{session.Size} ranks", () => session.SolveBatch(pairs, options, hvpDirections: directions));
        if (!session.IsRoot) return null;
        var (single, singleSeconds, _) = Measure("batch on rank 0", "one process", () => EntropicOT.SolveBatch(pairs, options, hvpDirections: directions));
        var diff = distributed.Select((b, i) => Math.Abs(b.Value - single[i].Value)).Max();
        var outcome = new DistributedOutcome(s.Problems, s.Size, s.Dim, s.Hvp, session.Size, OtNativeEnvironment.MaxThreads, distributedSeconds, singleSeconds,
            s.Problems / distributedSeconds, s.Problems / singleSeconds, singleSeconds / distributedSeconds, diff);
        var table = new Table().Title($"{s.Problems} problems, n = m = {s.Size}, d = {s.Dim}, values + gradients{(s.Hvp ? " + HVP" : "")}, {session.Size} ranks × {OtNativeEnvironment.MaxThreads} threads")
            .AddColumns("", "seconds", "problems / s");
        table.AddRow($"across {session.Size} ranks (MpiSession.SolveBatch)", $"{distributedSeconds:F2}", $"{outcome.DistributedProblemsPerSecond:F0}");
        table.AddRow("rank 0 alone (EntropicOT.SolveBatch)", $"{singleSeconds:F2}", $"{outcome.SingleProcessProblemsPerSecond:F0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"ranks vs one process {outcome.Speedup:F2}×; largest difference between the values {diff:E1}");
        JsonReport.Save(s.Json, new { benchmark = "batch-mpi", result = outcome });
        return outcome;
    }

    /// <summary>The width --simd names, else the one the CPU backend runs at.</summary>
    private static CpuVectorWidth WidthOf(Settings s) => s.Simd is null ? CpuVectorWidths.Configured : SimdOption.Width(s.Simd);

    /// <summary>The benchmark's problems (uniform clouds, seed 64) and, with --hvp, one direction each.</summary>
    private static ((double[,] X, double[,] Y)[] Pairs, double[][,]? Directions) Draw(Settings s)
    {
        var rng = new Random(64);
        var pairs = Enumerable.Range(0, s.Problems).Select(_ => UniformClouds.Pair(rng, s.Size, s.Dim)).ToArray();
        return (pairs, s.Hvp ? pairs.Select(p => UniformClouds.Cloud(rng, p.X.GetLength(0), s.Dim)).ToArray() : null);
    }

    /// <summary>Runs <paramref name="work"/> once and returns its wall time and the bytes it allocated (all threads).</summary>
    private static (T Result, double Seconds, long Bytes) Measure<T>(string title, string status, Func<T> work)
    {
        var before = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        var result = ProgressDisplay.Run(title, () => status, work);
        var seconds = sw.Elapsed.TotalSeconds;
        return (result, seconds, GC.GetTotalAllocatedBytes(true) - before);
    }

    /// <summary>
    /// Times the batched API, a Parallel.For over single façade solves (what a user would write without it) and a
    /// sequential loop on the same problems, checks they agree, prints and saves the result.
    /// </summary>
    public static Outcome Run(Settings s)
    {
        var (pairs, directions) = Draw(s);
        var width = WidthOf(s);
        var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.05, EpsilonRelative = true, VectorWidth = width };
        AnsiConsole.MarkupLine($"[bold]bench batch[/]: {Markup.Escape(OtNativeEnvironment.Describe().CpuBackend)}; timed at SIMD {Markup.Escape(CpuVectorWidths.Describe(width))}");
        BatchItem[] Batched(int count) => EntropicOT.SolveBatch(pairs[..count], options, hvpDirections: directions?[..count]);
        BatchItem[] BatchedMixed(int count) =>
            EntropicOT.SolveBatch(pairs[..count], options with { Precision = SinkhornPrecision.Mixed }, hvpDirections: directions?[..count]);
        (double Value, double[,] Gradient, double[,]? Hvp) Single(int i)
        {
            using var r = EntropicOT.Solve(pairs[i].X, pairs[i].Y, options);
            return (r.Value, r.Gradient(), directions is null ? null : r.HessianVectorProduct(directions[i]));
        }
        (double Value, double[,] Gradient, double[,]? Hvp)[] ParallelFor(int count)
        {
            var results = new (double Value, double[,] Gradient, double[,]? Hvp)[count];
            Parallel.For(0, count, i => results[i] = Single(i));
            return results;
        }
        // Both parallel paths warmed up alike, long enough for the JIT's tiered compilation to finish promoting the hot
        // code: with 64 warm-up problems the batch, timed first, still ran partly unoptimised code (0.89× Parallel.For,
        // against 1.01× with tiering off).
        var warmUp = Math.Min(512, pairs.Length);
        Batched(warmUp);
        ParallelFor(warmUp);
        BatchedMixed(warmUp);
        var (batch, batchSeconds, batchBytes) = Measure("batch", "all cores", () => Batched(pairs.Length));
        var (mixed, mixedSeconds, _) = Measure("batch, mixed precision", "all cores", () => BatchedMixed(pairs.Length));
        var (parallel, parallelSeconds, parallelBytes) = Measure("Parallel.For", "single solves on all cores", () => ParallelFor(pairs.Length));
        var (loop, loopSeconds, _) = Measure("loop", "one problem at a time", () => Enumerable.Range(0, pairs.Length).Select(Single).ToArray());
        var diff = batch.Select((b, i) => Math.Max(Math.Abs(b.Value - loop[i].Value), Math.Abs(b.Value - parallel[i].Value))).Max();
        double meanIterations = batch.Average(b => b.Iterations);
        double expNs = CpuVectorWidths.MeasureExpNanoseconds(width);
        double limit = OtNativeEnvironment.MaxThreads / ((2.0 * meanIterations + 3.0) * s.Size * s.Size * expNs * 1e-9);
        var outcome = new Outcome(s.Problems, s.Size, s.Dim, s.Hvp, Environment.ProcessorCount, batchSeconds, loopSeconds,
            s.Problems / batchSeconds, s.Problems / loopSeconds, loopSeconds / batchSeconds, diff,
            parallelSeconds, s.Problems / parallelSeconds, parallelSeconds / batchSeconds,
            (double)batchBytes / s.Problems, (double)parallelBytes / s.Problems, meanIterations, expNs, limit, CpuVectorWidths.Name(width),
            mixedSeconds, s.Problems / mixedSeconds, mixed.Average(b => b.Iterations), mixed.Select((b, i) => Math.Abs(b.Value - batch[i].Value)).Max());
        var table = new Table().Title($"{s.Problems} problems, n = m = {s.Size}, d = {s.Dim}, values + gradients{(s.Hvp ? " + HVP" : "")}, {Environment.ProcessorCount} cores")
            .AddColumns("", "seconds", "problems / s", "KiB allocated / problem");
        table.AddRow("batched (EntropicOT.SolveBatch)", $"{batchSeconds:F2}", $"{outcome.BatchProblemsPerSecond:F0}", $"{outcome.BatchBytesPerProblem / 1024:F1}");
        double float32Iterations = mixed.Average(b => b.MixedIterations);
        table.AddRow($"batched, mixed precision ({outcome.MixedMeanIterations:F0} iterations, {float32Iterations:F0} float32" +
                     (float32Iterations == 0 ? ": problems this small run float64" : "") + ")",
            $"{mixedSeconds:F2}", $"{outcome.MixedBatchProblemsPerSecond:F0}", "—");
        table.AddRow("Parallel.For over EntropicOT.Solve", $"{parallelSeconds:F2}", $"{outcome.ParallelForProblemsPerSecond:F0}", $"{outcome.ParallelForBytesPerProblem / 1024:F1}");
        table.AddRow("loop of single solves", $"{loopSeconds:F2}", $"{outcome.LoopProblemsPerSecond:F0}", "—");
        table.AddRow($"exp-throughput limit ({meanIterations:F0} iterations, {expNs:F2} ns per exp at SIMD {CpuVectorWidths.Name(width)})", "—", $"{limit:F0}", "—");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"batched vs Parallel.For {outcome.SpeedupOverParallelFor:F2}×, vs the loop {outcome.Speedup:F2}×; " +
                               $"largest difference between the values {diff:E1}; mixed precision {batchSeconds / mixedSeconds:F2}× the float64 batch, " +
                               $"values {outcome.MixedMaxValueDifference:E1} apart");
        JsonReport.Save(s.Json, new { benchmark = "batch", result = outcome });
        return outcome;
    }
}
