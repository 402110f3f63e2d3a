using System.Diagnostics;
using OtNative.Comparison;

namespace OtNative.Benchmarks;

/// <summary>The sizes, scales and budgets of one run of the paper's Section 5 protocol.</summary>
public sealed record ProtocolSettings(
    int Seeds, int[] AccuracySizes, double[] AccuracyScales,
    int[] RuntimeSizes, int ComparisonMaxN, double[] RuntimeScales, int Repeats, double BudgetSeconds, double Ridge)
{
    /// <summary>The paper's protocol: 100 seeds, n = 10 … 180, ε/mean cost ∈ {0.005, 0.05, 0.5}; runtimes to n = 6400 for ours.</summary>
    public static ProtocolSettings Full { get; } = new(100, [10, 20, 30, 40, 80, 120, 180], [0.005, 0.05, 0.5],
        [10, 20, 40, 80, 180, 400, 800, 1600, 3200, 6400], 180, [0.005, 0.05], 3, 600, 0);

    /// <summary>A CI-sized subset: 3 seeds, n ≤ 40, runtimes to n = 200.</summary>
    public static ProtocolSettings Quick { get; } = new(3, [10, 20, 40], [0.005, 0.05, 0.5], [10, 20, 40, 100, 200], 40, [0.005, 0.05], 1, 60, 0);
}

/// <summary>Success rate and error of one method at one (ε scale, n) over the seeds.</summary>
public sealed record AccuracyCell(string Method, double Scale, int N, int Trials, int Successes, double SuccessRate,
    double MeanError, double MedianError, double MeanSeconds, int NumericalFailures, string? Note);

/// <summary>Median time and memory of one method at one (ε scale, n), or why it was not run.</summary>
public sealed record RuntimeCell(string Method, double Scale, int N, double? MedianSeconds, double? AllocatedMiB, double SolveSeconds, int SinkhornIterations, string Status);

/// <summary>
/// The paper's Section 5 protocol (math.md §3): d = 2, points uniform in the unit square, y = x, uniform weights,
/// ε = s · mean cost, Sinkhorn tolerance 0.01/n^0.33; marginal error (eq. 59) with the input weights, success
/// when it is below 0.1.
/// </summary>
public static class ComparisonProtocol
{
    /// <summary>Every method, in the order of the paper's table (Schur is this library's fast path of the last).</summary>
    public static readonly ComparisonMethod[] Methods =
    [
        ComparisonMethod.Unroll, ComparisonMethod.Implicit, ComparisonMethod.AnalyticNoRegularisation,
        ComparisonMethod.AnalyticTruncated, ComparisonMethod.AnalyticSchur,
    ];

    /// <summary>A short name for tables and JSON.</summary>
    public static string Name(ComparisonMethod m) =>
        m.IsUnroll ? "unroll" : m.IsImplicit ? "implicit" : m.IsAnalyticNoRegularisation ? "analytic-noreg"
        : m.IsAnalyticTruncated ? "analytic-reg" : "analytic-schur";

    private static bool IsOurs(ComparisonMethod m) => m.IsAnalyticTruncated || m.IsAnalyticSchur;

    /// <summary>Accuracy and success rate over the seeds for every method, ε scale and size.</summary>
    public static List<AccuracyCell> Accuracy(ProtocolSettings s, Action<string> status)
    {
        var cells = new List<AccuracyCell>();
        foreach (var scale in s.AccuracyScales)
            foreach (var n in s.AccuracySizes)
            {
                var errors = Methods.ToDictionary(m => m, _ => new List<double>());
                var seconds = Methods.ToDictionary(m => m, _ => 0.0);
                var failures = Methods.ToDictionary(m => m, _ => 0);
                var skipped = new HashSet<ComparisonMethod>();
                for (int seed = 0; seed < s.Seeds; seed++)
                {
                    status($"accuracy ε = {scale} × mean cost, n = {n}, seed {seed + 1}/{s.Seeds}");
                    using var trial = ProtocolTrial.Solve(n, scale, seed);
                    foreach (var m in Methods.Where(m => !skipped.Contains(m)))
                    {
                        var measured = trial.Measure(m, s.Ridge);
                        errors[m].Add(measured.Error);
                        if (!measured.Succeeded) failures[m]++;
                        seconds[m] += measured.Seconds;
                        if (seconds[m] > s.BudgetSeconds) skipped.Add(m);
                    }
                }
                foreach (var m in Methods)
                {
                    var e = errors[m];
                    var sorted = e.OrderBy(v => v).ToArray();
                    var ok = e.Count(v => v < 0.1);
                    cells.Add(new AccuracyCell(Name(m), scale, n, e.Count, ok, e.Count == 0 ? double.NaN : (double)ok / e.Count,
                        e.Count == 0 ? double.NaN : e.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(),
                        sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2], e.Count == 0 ? double.NaN : seconds[m] / e.Count, failures[m],
                        skipped.Contains(m) && e.Count < s.Seeds ? $"time budget {s.BudgetSeconds} s spent after {e.Count} of {s.Seeds} seeds" : null));
                }
            }
        return cells;
    }

    /// <summary>Dense working memory each method needs, in bytes (its n·m, (n+m)², (n·d)² arrays).</summary>
    private static double PredictedBytes(ComparisonMethod m, int n)
    {
        double nn = n, nd = 2.0 * n, h = 2.0 * n;
        return 8 * (m.IsUnroll ? 4 * nn * nn + 6 * nn * nd + nd * nd
            : m.IsImplicit ? h * h + 4 * h * nd + 2 * nd * nd
            : m.IsAnalyticSchur ? 4 * nn * nn + 3 * nn * nd + 2 * nd * nd
            : 3 * h * h + 2 * h * nd + 2 * nd * nd);
    }

    /// <summary>Median times (over <c>Repeats</c> runs on the same problem, one run when it takes over 10 s) and allocations; sizes past a method's reach are reported, not dropped.</summary>
    public static List<RuntimeCell> Runtime(ProtocolSettings s, Action<string> status)
    {
        var cells = new List<RuntimeCell>();
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.8;
        foreach (var scale in s.RuntimeScales)
        {
            var last = new Dictionary<ComparisonMethod, (int N, double Seconds)>();
            var stopped = new Dictionary<ComparisonMethod, string>();
            foreach (var n in s.RuntimeSizes)
            {
                status($"runtime ε = {scale} × mean cost, n = {n}: Sinkhorn");
                using var trial = ProtocolTrial.Solve(n, scale, 0);
                foreach (var m in Methods)
                {
                    string? reason = stopped.GetValueOrDefault(m);
                    if (reason is null && !IsOurs(m) && n > s.ComparisonMaxN) reason = $"not run: n > {s.ComparisonMaxN}, the protocol's range for comparison methods";
                    if (reason is null && PredictedBytes(m, n) > available) reason = $"over memory budget (needs ~{PredictedBytes(m, n) / 1073741824.0:F1} GiB)";
                    if (reason is null && last.TryGetValue(m, out var prev) && prev.Seconds * Math.Pow((double)n / prev.N, 3) > s.BudgetSeconds)
                        reason = $"over time budget (~{prev.Seconds * Math.Pow((double)n / prev.N, 3):F0} s predicted > {s.BudgetSeconds} s)";
                    if (reason is not null)
                    {
                        if (!stopped.ContainsKey(m) && !reason.StartsWith("not run", StringComparison.Ordinal)) stopped[m] = reason;
                        cells.Add(new RuntimeCell(Name(m), scale, n, null, null, trial.SolveSeconds, trial.Iterations, reason));
                        continue;
                    }
                    status($"runtime ε = {scale} × mean cost, n = {n}: {Name(m)}");
                    var runs = new List<ComparisonRun>();
                    string? failure = null;
                    // Runs longer than 10 s are timed once: their spread is small next to their length.
                    for (int r = 0; r < s.Repeats && failure is null && runs.All(x => x.Seconds < 10); r++)
                    {
                        var measured = trial.Measure(m, s.Ridge);
                        if (measured.Succeeded) runs.Add(measured.Run.Value);
                        failure = measured.Failure;
                    }
                    if (runs.Count == 0)
                    {
                        cells.Add(new RuntimeCell(Name(m), scale, n, null, null, trial.SolveSeconds, trial.Iterations, $"failed: {failure}"));
                        continue;
                    }
                    var median = runs.Select(r => r.Seconds).OrderBy(v => v).ElementAt(runs.Count / 2);
                    last[m] = (n, median);
                    cells.Add(new RuntimeCell(Name(m), scale, n, median, runs.Max(r => r.AllocatedBytes) / 1048576.0, trial.SolveSeconds, trial.Iterations, "ok"));
                }
            }
        }
        return cells;
    }
}
