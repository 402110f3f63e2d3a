using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench sinkhorn</c>: per-iteration time of the CPU log-domain solver on uniform clouds in the unit cube
/// (d = 2 by default, ε = 0.05 × mean cost) at one or more SIMD widths, against POT's sinkhorn_log and PyTorch's CPU
/// logsumexp Sinkhorn on the same data in the same run (where their n×m matrices fit in memory), and against the
/// machine's exp-throughput limit at each width (an iteration needs 2nm exponentials; their cost per element is
/// measured first, on one core).
/// </summary>
public sealed class BenchSinkhornCommand : Command<BenchSinkhornCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sizes <LIST>")]
        [Description("Comma-separated n = m values (default 1000,4000,10000; up to 100000 and beyond: OtNative streams the pairs).")]
        [DefaultValue("1000,4000,10000")]
        public string Sizes { get; init; } = "1000,4000,10000";

        [CommandOption("--dims <LIST>")]
        [Description("Comma-separated dimensions d (default 2).")]
        [DefaultValue("2")]
        public string Dims { get; init; } = "2";

        [CommandOption("--simd <LIST>")]
        [Description("Comma-separated SIMD widths to time, each a row: 512, 256, 128, scalar (default: the width in use, `otnative info`).")]
        public string? Simd { get; init; }

        [CommandOption("--mixed-sizes <LIST>")]
        [Description("Sizes at which float64 and mixed-precision solves are timed to tolerance 1e-6 and 1e-9 at the first width (default 4000; empty to skip).")]
        [DefaultValue("4000")]
        public string MixedSizes { get; init; } = "4000";

        [CommandOption("--variants <LIST>")]
        [Description("Problem variants timed per size and dimension at the first width beside the plain row: unbalanced (τ_a = τ_b = mean cost), mahalanobis (a random metric), euclidean (‖x − y‖, SIMD square roots), pnorm (‖x − y‖^1.5, SIMD powers), custom (a user's Euclidean ICostFunction, one virtual call per pair). Default all but custom; empty to skip. Problems of at most 32 768 pairs tabulate every cost, so the cost rows differ from the plain one only above that.")]
        [DefaultValue("unbalanced,mahalanobis,euclidean,pnorm")]
        public string Variants { get; init; } = "unbalanced,mahalanobis,euclidean,pnorm";

        [CommandOption("--iterations <N>")]
        [Description("Timed iterations per size for OtNative (default 20).")]
        [DefaultValue(20)]
        public int Iterations { get; init; } = 20;

        [CommandOption("--pot-iterations <N>")]
        [Description("Timed iterations per size for POT (default 5).")]
        [DefaultValue(5)]
        public int PotIterations { get; init; } = 5;

        [CommandOption("--no-pot")]
        [Description("Skip the POT baseline.")]
        public bool NoPot { get; init; }

        [CommandOption("--no-torch")]
        [Description("Skip the PyTorch CPU baseline.")]
        public bool NoTorch { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-sinkhorn.json).")]
        [DefaultValue("bench-sinkhorn.json")]
        public string Json { get; init; } = "bench-sinkhorn.json";
    }

    /// <summary>
    /// One size, dimension and width's measurements. <c>LimitMsPerIteration</c> is 2nm exponentials at that width's
    /// measured cost per core, over the cores; <c>NsPerPair</c> is the time per pair evaluation (an iteration evaluates 2nm).
    /// The baselines are timed once per size and dimension, on the first width's row.
    /// </summary>
    public sealed record Row(int N, int D, double Epsilon, int Iterations, double MsPerIteration, double PairsPerSecond,
        double? PotMsPerIteration, double? SpeedupVsPot, string? PotNote,
        double? TorchMsPerIteration, double? SpeedupVsTorch, string? TorchNote, double LimitMsPerIteration, double FractionOfLimit,
        string Simd, double NsPerPair, double ExpNanosecondsPerElement);

    /// <summary>A variant of the problem (unbalanced, another ground cost) timed per iteration beside the plain squared-Euclidean row.</summary>
    public sealed record VariantRow(int N, int D, string Variant, string Simd, double MsPerIteration, double PlainMsPerIteration, double RelativeToPlain);

    /// <summary>
    /// A float64 and a mixed-precision solve of the same problem to one tolerance, from f = 0 at one width: seconds,
    /// iterations (of which float32) and the returned plans' float64-measured errors.
    /// </summary>
    public sealed record MixedRow(int N, int D, string Simd, double Tolerance, double DoubleSeconds, int DoubleIterations, double DoubleError,
        double MixedSeconds, int MixedIterations, int MixedFloat32Iterations, double MixedError, double Speedup, double ValueDifference);

    /// <summary>
    /// The baselines materialise the n×m cost and hold about four more n×m float64 arrays in their log-sum-exp. They run
    /// only where that takes at most half the memory this process may use (and at most 8 GiB: past that their time per
    /// iteration runs into minutes and says nothing new).
    /// </summary>
    private static double BaselineBytesLimit => Math.Min(8.0 * (1L << 30), 0.5 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    private static string? BaselineDoesNotFit(int n, string name)
    {
        double bytes = 5.0 * 8.0 * n * (double)n, limit = BaselineBytesLimit;
        return bytes <= limit ? null
            : $"{name} not run at n = {n}: its ~5 n×m float64 arrays need {bytes / (1L << 30):F1} GiB (limit {limit / (1L << 30):F1} GiB)";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var sizes = ListOption.Ints(settings.Sizes);
        var dims = ListOption.Ints(settings.Dims);
        var widths = settings.Simd is null ? [CpuVectorWidths.Configured] : SimdOption.Widths(settings.Simd);
        string potReason = "skipped (--no-pot)";
        var pot = settings.NoPot ? null : PotBaseline.TryFind(out potReason);
        string torchReason = "skipped (--no-torch)";
        var torch = settings.NoTorch ? null : TorchBaseline.TryFind(out torchReason);
        int cores = OtNativeEnvironment.MaxThreads;
        var expNs = widths.ToDictionary(w => w, CpuVectorWidths.MeasureExpNanoseconds);
        AnsiConsole.MarkupLine($"[bold]bench sinkhorn[/]: {Markup.Escape(OtNativeEnvironment.Describe().CpuBackend)}; baselines: {Markup.Escape(potReason)}; {Markup.Escape(torchReason)}");
        foreach (var w in widths)
            AnsiConsole.MarkupLine($"  hardware limit at SIMD {Markup.Escape(CpuVectorWidths.Describe(w))}: exp costs {expNs[w]:F3} ns per element on one core; " +
                                   $"an iteration's 2nm exponentials on {cores} cores bound it at 2nm × {expNs[w]:F3} ns / {cores}");
        var rows = new List<Row>();
        var variants = settings.Variants.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var v in variants)
            if (v is not ("unbalanced" or "mahalanobis" or "euclidean" or "pnorm" or "custom"))
                throw new ArgumentException($"--variants: '{v}' is not a variant: use unbalanced, mahalanobis, euclidean, pnorm, custom.");
        var variantRows = new List<VariantRow>();
        foreach (var d in dims)
        foreach (var n in sizes)
        {
            // d = 2 keeps the seed the earlier runs in docs/cpu-speed.md used.
            var rng = new Random(d == 2 ? n : n * 10 + d);
            var (x, y) = UniformClouds.Pair(rng, n, d);
            double? potMs = null, torchMs = null;
            string? potNote = null, torchNote = null;
            bool first = true;
            foreach (var w in widths)
            {
                var timed = new SinkhornOptions
                {
                    Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-300, MaxIterations = settings.Iterations,
                    VectorWidth = w,
                };
                var label = $"OtNative n={n} d={d} {CpuVectorWidths.Name(w)}";
                ProgressDisplay.Run(label, () => "warm-up", () =>
                {
                    WarmUp.ForASecond(() => EntropicOT.Solve(x, y, timed with { MaxIterations = Math.Min(settings.Iterations, 3) }).Dispose());
                    return 0;
                });
                using var result = ProgressDisplay.Run(label, timed, o => EntropicOT.Solve(x, y, o));
                double ms = result.Elapsed.TotalMilliseconds / result.Iterations;
                if (first)
                {
                    (potMs, potNote) = Baseline(pot, potReason, "POT", n, () =>
                        ProgressDisplay.Run($"POT n={n}", () => "running", () => (pot!.MillisecondsPerIteration(x, y, result.Epsilon, settings.PotIterations, out var e), e)));
                    (torchMs, torchNote) = Baseline(torch, torchReason, "PyTorch", n, () =>
                        ProgressDisplay.Run($"PyTorch n={n}", () => "running", () => (torch!.CpuMillisecondsPerIteration(x, y, result.Epsilon, settings.PotIterations, out var e), e)));
                }
                double pairs = 2.0 * n * n;
                double limit = pairs * expNs[w] / cores / 1e6;
                double? potHere = first ? potMs : null, torchHere = first ? torchMs : null;
                var row = new Row(n, d, result.Epsilon, result.Iterations, ms, pairs / (ms / 1000.0), potHere, potHere / ms, first ? potNote : null,
                    torchHere, torchHere / ms, first ? torchNote : null, limit, limit / ms, CpuVectorWidths.Name(w), ms * 1e6 / pairs, expNs[w]);
                rows.Add(row);
                AnsiConsole.MarkupLine($"  n = {n}, d = {d}, SIMD {CpuVectorWidths.Name(w)}: {ms:F2} ms/iter, {row.NsPerPair:F3} ns/pair (limit {limit:F2}, {ms / limit:F2}× it)"
                                       + (potHere is { } p ? $", POT {p:F1} ms/iter ({p / ms:F1}×)" : "")
                                       + (torchHere is { } t ? $", PyTorch {t:F1} ms/iter ({t / ms:F1}×)" : ""));
                if (first)
                    foreach (var variant in variants)
                    {
                        var options = variant switch
                        {
                            "unbalanced" => timed with { TauA = result.Epsilon / 0.05, TauB = result.Epsilon / 0.05 },
                            "mahalanobis" => timed with { Cost = GroundCost.Mahalanobis(RandomMetric(new Random(d), d)) },
                            "euclidean" => timed with { Cost = GroundCost.Euclidean },
                            "pnorm" => timed with { Cost = GroundCost.PNorm(1.5) },
                            _ => timed with { Cost = GroundCost.Custom(new UserEuclideanCost()) },
                        };
                        var variantLabel = $"{variant} n={n} d={d}";
                        WarmUp.ForASecond(() => EntropicOT.Solve(x, y, options with { MaxIterations = Math.Min(settings.Iterations, 3) }).Dispose());
                        using var solved = ProgressDisplay.Run(variantLabel, options, o => EntropicOT.Solve(x, y, o));
                        double variantMs = solved.Elapsed.TotalMilliseconds / solved.Iterations;
                        variantRows.Add(new VariantRow(n, d, variant, CpuVectorWidths.Name(w), variantMs, ms, variantMs / ms));
                        AnsiConsole.MarkupLine($"  {variant}: {variantMs:F2} ms/iter ({variantMs / ms:F2}× the plain row)");
                    }
                first = false;
            }
            // Why a baseline that is installed has no number at this size (too large for memory, or its run failed).
            foreach (var (installed, ms, note) in new[] { (pot is not null, potMs, potNote), (torch is not null, torchMs, torchNote) })
                if (installed && ms is null && note is not null) AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(note)}[/]");
        }
        var mixedRows = MixedPrecision(settings.MixedSizes.Length == 0 ? [] : ListOption.Ints(settings.MixedSizes), widths[0]);
        var table = new Table().Title("Sinkhorn per-iteration time (CPU, float64, ε = 0.05 × mean cost)")
            .AddColumns("n = m", "d", "SIMD", "OtNative ms/iter", "ns/pair", "exp limit ms/iter", "× limit", "POT sinkhorn_log ms/iter", "speed-up", "PyTorch ms/iter", "speed-up");
        static string Ratio(double? v) => v is { } s ? $"{s:F1}×" : "—";
        static string Ms(double? v) => v is { } p ? $"{p:F1}" : "—";
        foreach (var r in rows)
            table.AddRow($"{r.N}", $"{r.D}", r.Simd, $"{r.MsPerIteration:F2}", $"{r.NsPerPair:F3}", $"{r.LimitMsPerIteration:F2}", $"{1 / r.FractionOfLimit:F2}",
                Ms(r.PotMsPerIteration), Ratio(r.SpeedupVsPot), Ms(r.TorchMsPerIteration), Ratio(r.SpeedupVsTorch));
        AnsiConsole.Write(table);
        JsonReport.Save(settings.Json, new
        {
            benchmark = "sinkhorn", machine = OtNativeEnvironment.Describe().CpuBackend, baseline = potReason, torchBaseline = torchReason,
            expNanosecondsPerElement = expNs[widths[0]], simd = widths.Select(CpuVectorWidths.Describe).ToArray(), cores, rows, mixed = mixedRows,
            variants = variantRows,
        });
        return 0;
    }

    /// <summary>A random symmetric positive definite d×d metric: AᵀA + I for A with entries uniform in [−½, ½].</summary>
    private static double[,] RandomMetric(Random rng, int d)
    {
        var a = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) a[i, j] = rng.NextDouble() - 0.5;
        var m = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                for (int k = 0; k < d; k++) m[i, j] += a[k, i] * a[k, j];
                if (i == j) m[i, j] += 1;
            }
        return m;
    }

    /// <summary>Time to tolerance 1e-6 and 1e-9, float64 against mixed precision, on the same clouds at one width.</summary>
    private static List<MixedRow> MixedPrecision(int[] sizes, CpuVectorWidth width)
    {
        var rows = new List<MixedRow>();
        foreach (var n in sizes)
        {
            var (x, y) = UniformClouds.Pair(new Random(n), n, 2);
            foreach (var tolerance in new[] { 1e-6, 1e-9 })
            {
                SinkhornOptions At(SinkhornPrecision precision) => new()
                {
                    Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = 0.05, EpsilonRelative = true, Tolerance = tolerance, Precision = precision, VectorWidth = width,
                };
                // Warmed up alike, then each timed once, float64 first.
                WarmUp.ForASecond(() => { EntropicOT.Solve(x, y, At(SinkhornPrecision.Double) with { MaxIterations = 3 }).Dispose();
                                          EntropicOT.Solve(x, y, At(SinkhornPrecision.Mixed) with { MaxIterations = 3 }).Dispose(); });
                using var plain = ProgressDisplay.Run($"float64 n={n} tol={tolerance:G1}", At(SinkhornPrecision.Double), o => EntropicOT.Solve(x, y, o));
                using var mixed = ProgressDisplay.Run($"mixed n={n} tol={tolerance:G1}", At(SinkhornPrecision.Mixed), o => EntropicOT.Solve(x, y, o));
                var row = new MixedRow(n, 2, CpuVectorWidths.Name(width), tolerance, plain.Elapsed.TotalSeconds, plain.Iterations, plain.MarginalError,
                    mixed.Elapsed.TotalSeconds, mixed.Iterations, mixed.MixedIterations, mixed.MarginalError,
                    plain.Elapsed.TotalSeconds / mixed.Elapsed.TotalSeconds, Math.Abs(mixed.Value - plain.Value));
                rows.Add(row);
                AnsiConsole.MarkupLine($"  n = {n}, tolerance {tolerance:G1}: float64 {row.DoubleSeconds:F3} s ({row.DoubleIterations} iterations), " +
                                       $"mixed {row.MixedSeconds:F3} s ({row.MixedIterations} iterations, {row.MixedFloat32Iterations} in float32): " +
                                       $"{row.Speedup:F2}×, values {row.ValueDifference:E1} apart, errors {row.DoubleError:E1} / {row.MixedError:E1}");
            }
        }
        if (rows.Count > 0)
        {
            var table = new Table().Title("Time to tolerance: float64 against mixed precision (float32 exponentials), d = 2, ε = 0.05 × mean cost")
                .AddColumns("n = m", "SIMD", "tolerance", "float64 s (iterations)", "mixed s (iterations, float32)", "speed-up", "|value difference|");
            foreach (var r in rows)
                table.AddRow($"{r.N}", r.Simd, $"{r.Tolerance:G1}", $"{r.DoubleSeconds:F3} ({r.DoubleIterations})",
                    $"{r.MixedSeconds:F3} ({r.MixedIterations}, {r.MixedFloat32Iterations})", $"{r.Speedup:F2}×", $"{r.ValueDifference:E1}");
            AnsiConsole.Write(table);
        }
        return rows;
    }

    /// <summary>A baseline's milliseconds per iteration, or null with why (missing, too large for memory, failed).</summary>
    private static (double? Ms, string? Note) Baseline(PythonBaseline? python, string reason, string name, int n, Func<(double? Ms, string? Error)> run)
    {
        if (python is null) return (null, reason);
        if (BaselineDoesNotFit(n, name) is { } tooLarge) return (null, tooLarge);
        var (ms, error) = run();
        return (ms, error);
    }
}
