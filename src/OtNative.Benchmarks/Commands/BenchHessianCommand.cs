using System.ComponentModel;
using System.Diagnostics;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench hessian</c>: dense Hessian time (Algorithm 1 and the Schur fast path) against the paper's
/// Algorithm 1 in numpy on the same plan in the same run, and matrix-free HVP time, CG iterations and memory at
/// large n. Uniform clouds in the unit square, d = 2, ε = 0.05 × mean cost. The Schur path's GEMM-class work (the
/// Gram of the scaled plan, two Cholesky factorisations, the triangular solve and the Gram of its result) over the
/// machine's measured SYRK rate is the hardware limit each row is compared with.
/// </summary>
public sealed class BenchHessianCommand : Command<BenchHessianCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sizes <LIST>")]
        [Description("n = m values for the dense Hessian (default 250,500,1000,2000).")]
        [DefaultValue("250,500,1000,2000")]
        public string Sizes { get; init; } = "250,500,1000,2000";

        [CommandOption("--hvp-sizes <LIST>")]
        [Description("n = m values for the matrix-free HVP (default 1000,5000,20000; empty to skip).")]
        [DefaultValue("1000,5000,20000")]
        public string HvpSizes { get; init; } = "1000,5000,20000";

        [CommandOption("--hvp-tol <TOL>")]
        [Description("Sinkhorn tolerance before the HVP rows (default 1e-4; the HVP is exact for the computed plan).")]
        [DefaultValue(1e-4)]
        public double HvpTolerance { get; init; } = 1e-4;

        [CommandOption("--repeats <N>")]
        [Description("Dense timings are the best of N runs, ours and numpy's alike (default 3).")]
        [DefaultValue(3)]
        public int Repeats { get; init; } = 3;

        [CommandOption("--no-numpy")]
        [Description("Skip the numpy Algorithm 1 baseline.")]
        public bool NoNumpy { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-hessian.json).")]
        [DefaultValue("bench-hessian.json")]
        public string Json { get; init; } = "bench-hessian.json";
    }

    /// <summary>One dense size: our two methods and the numpy baseline on the same plan.</summary>
    public sealed record DenseRow(int N, int D, double Epsilon, int SinkhornIterations, double SinkhornMarginalError, int Repeats,
        double EigenSeconds, double EigenMarginalError, double SchurSeconds, double SchurMarginalError, int Dropped,
        double? NumpySeconds, double? NumpyMarginalError, double? SpeedupSchurVsNumpy, double? SpeedupEigenVsNumpy, string? NumpyNote,
        double SchurGflop, double SchurLimitSeconds);

    /// <summary>One HVP size: time (best of two), CG work, memory allocated during the product and the process's peak working set
    /// so far (all of it, runtime included: no n×m buffer fits under it).</summary>
    public sealed record HvpRow(int N, int D, double Epsilon, int SinkhornIterations, double SinkhornSeconds, double HvpSeconds,
        int CgIterations, double CgResidual, bool CgConverged, double AllocatedMiB, double DensePlanMiB, double PeakWorkingSetMiB);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string numpyReason = "skipped (--no-numpy)";
        var numpy = settings.NoNumpy ? null : AlgorithmOneBaseline.TryFind(out numpyReason);
        AnsiConsole.MarkupLine($"[bold]bench hessian[/]: {Markup.Escape(OtNativeEnvironment.Describe().CpuBackend)}; baseline: {Markup.Escape(numpyReason)}");
        WarmUpPaths();
        double gflops = OtNativeEnvironment.MeasureGramGflops();
        AnsiConsole.MarkupLine($"  hardware limit: SYRK runs at {gflops:F1} GFLOP/s here; the Schur path's BLAS work over that rate bounds each row");
        // The matrix-free rows run first, so that the peak working set they report is theirs and not a dense row's.
        var hvp = ListOption.Ints(settings.HvpSizes).Select(n => HvpSize(n, settings.HvpTolerance)).ToList();
        var dense = ListOption.Ints(settings.Sizes).Select(n => DenseSize(n, Math.Max(1, settings.Repeats), numpy, numpyReason, gflops)).ToList();

        var table = new Table().Title("Dense Hessian (CPU, float64, d = 2, ε = 0.05 × mean cost, τ = 1e-10), best-of-N seconds")
            .AddColumns("n = m", "Algorithm 1 (ours)", "Schur (ours)", "Schur BLAS limit", "numpy Algorithm 1", "speed-up Schur", "marginal error ours / numpy");
        foreach (var r in dense)
            table.AddRow($"{r.N}", $"{r.EigenSeconds:F3}", $"{r.SchurSeconds:F3}", $"{r.SchurLimitSeconds:F3}", r.NumpySeconds is { } s ? $"{s:F3}" : "—",
                r.SpeedupSchurVsNumpy is { } u ? $"{u:F1}×" : "—", $"{r.SchurMarginalError:E2} / " + (r.NumpyMarginalError is { } e ? $"{e:E2}" : "—"));
        AnsiConsole.Write(table);
        if (hvp.Count > 0)
        {
            var t = new Table().Title($"Matrix-free HVP (streamed, Jacobi-preconditioned CG to 1e-10; Sinkhorn tol {settings.HvpTolerance:G3})")
                .AddColumns("n = m", "HVP s", "CG iterations", "CG residual", "allocated MiB", "peak process MiB", "dense plan would be MiB", "Sinkhorn s (iters)");
            foreach (var r in hvp)
                t.AddRow($"{r.N}", $"{r.HvpSeconds:F2}", $"{r.CgIterations}", $"{r.CgResidual:E1}", $"{r.AllocatedMiB:F1}", $"{r.PeakWorkingSetMiB:F0}", $"{r.DensePlanMiB:F0}", $"{r.SinkhornSeconds:F1} ({r.SinkhornIterations})");
            AnsiConsole.Write(t);
        }
        JsonReport.Save(settings.Json, new { benchmark = "hessian", linearAlgebra = OtNativeEnvironment.Describe().LinearAlgebra, baseline = numpyReason, syrkGflops = gflops, dense, hvp });
        return 0;
    }

    private static (double[,] X, double[,] Y) Clouds(int n) => UniformClouds.Pair(new Random(n), n, 2);

    /// <summary>Runs every timed code path (see <see cref="WarmUp"/>); 90 000 pairs, so the kernels' parallel paths too.</summary>
    private static void WarmUpPaths()
    {
        var (x, y) = Clouds(300);
        WarmUp.ForASecond(() =>
        {
            using var res = EntropicOT.Solve(x, y);
            foreach (var method in new[] { HessianMethod.Eigen, HessianMethod.Schur }) res.Hessian(method);
            res.HessianOperator().Apply(x);
        });
    }

    /// <summary>GFLOP of the Schur path's BLAS work for n ≥ m (math.md §3): PᵀP-type Gram m(m+1)n, two Cholesky
    /// factorisations 2m³/3, the triangular solve m²·nd and the Gram of its result nd(nd+1)·m.</summary>
    private static double SchurGflop(int n, int m, int d)
    {
        double nd = (double)n * d;
        return ((double)m * (m + 1) * n + 2.0 * m * m * m / 3.0 + (double)m * m * nd + nd * (nd + 1) * m) / 1e9;
    }

    private static DenseRow DenseSize(int n, int repeats, PythonBaseline? numpy, string numpyReason, double gflops)
    {
        var (x, y) = Clouds(n);
        using var res = ProgressDisplay.Run($"Sinkhorn n={n}", new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.05, EpsilonRelative = true, Tolerance = 1e-9, MaxIterations = 100_000 }, o => EntropicOT.Solve(x, y, o));
        var a = Enumerable.Repeat(1.0 / n, n).ToArray();
        (double Seconds, double Error, int Dropped) Ours(HessianMethod method) => ProgressDisplay.Run($"{method} n={n}", () => "running", () =>
        {
            var best = double.PositiveInfinity;
            HessianResult? h = null;
            for (int i = 0; i < repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                h = res.Hessian(method);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return (best, h!.RowSumError, h.Dropped);
        });
        double work = SchurGflop(n, n, 2);
        var eigen = Ours(HessianMethod.Eigen);
        var schur = Ours(HessianMethod.Schur);
        (double Seconds, double MarginalError)? baseline = null;
        string? note = numpy is null ? numpyReason : null;
        if (numpy is not null)
            baseline = ProgressDisplay.Run($"numpy n={n}", () => "running", () => numpy.Run(x, y, res.F.ToArray(), res.G.ToArray(), a, a, res.Epsilon, 1e-10, repeats, out note));
        AnsiConsole.MarkupLine($"  n = {n}: Algorithm 1 {eigen.Seconds:F3} s, Schur {schur.Seconds:F3} s" +
                               (baseline is { } b ? $", numpy {b.Seconds:F3} s ({b.Seconds / schur.Seconds:F1}× Schur)" : ""));
        return new DenseRow(n, 2, res.Epsilon, res.Iterations, res.MarginalError, repeats, eigen.Seconds, eigen.Error, schur.Seconds, schur.Error, schur.Dropped,
            baseline?.Seconds, baseline?.MarginalError, baseline?.Seconds / schur.Seconds, baseline?.Seconds / eigen.Seconds, note,
            work, work / gflops);
    }

    private static HvpRow HvpSize(int n, double tolerance)
    {
        var (x, y) = Clouds(n);
        using var res = ProgressDisplay.Run($"Sinkhorn n={n}", new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, Epsilon = 0.05, EpsilonRelative = true, Tolerance = tolerance, MaxIterations = 100_000 }, o => EntropicOT.Solve(x, y, o));
        var rng = new Random(7);
        var direction = UniformClouds.Cloud(rng, n, 2);
        var op = res.HessianOperator();
        var allocated = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        var report = ProgressDisplay.Run($"HVP n={n}", () => "CG on the Schur complement", () => op.Apply(direction)).Cg;
        var seconds = sw.Elapsed.TotalSeconds;
        var mib = (GC.GetTotalAllocatedBytes(true) - allocated) / 1048576.0;
        // Best of two: the process's first product of a size pays one-off costs the warm-up does not cover.
        sw.Restart();
        ProgressDisplay.Run($"HVP n={n}", () => "once more", () => op.Apply(direction));
        seconds = Math.Min(seconds, sw.Elapsed.TotalSeconds);
        AnsiConsole.MarkupLine($"  HVP n = {n}: {seconds:F2} s, {report.Iterations} CG iterations, {mib:F1} MiB allocated");
        return new HvpRow(n, 2, res.Epsilon, res.Iterations, res.Elapsed.TotalSeconds, seconds, report.Iterations, report.Residual, report.Converged,
            mib, 8.0 * n * n / 1048576.0, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0);
    }
}
