using System.ComponentModel;
using OtNative.Terminal;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Benchmarks.Commands;

/// <summary>
/// <c>otnative bench forward</c>: streamed passes and seconds to tolerance for plain Sinkhorn, the Gaussian, subsample and GMM initialisers,
/// ε-annealing, L-BFGS on the semi-dual and combinations, on uniform clouds, two Gaussian mixtures and a shifted pair (d = 2), at several ε; and the
/// debiased divergence's self-terms with alternating and with symmetric updates. Passes (one streamed row or column
/// sweep each) are the cost unit every method shares.
/// </summary>
public sealed class BenchForwardCommand : Command<BenchForwardCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--sizes <LIST>")]
        [Description("n = m values (default 1000,4000).")]
        [DefaultValue("1000,4000")]
        public string Sizes { get; init; } = "1000,4000";

        [CommandOption("--scales <LIST>")]
        [Description("ε / mean cost values, comma-separated (default 0.05,0.01,0.002).")]
        [DefaultValue("0.05,0.01,0.002")]
        public string Scales { get; init; } = "0.05,0.01,0.002";

        [CommandOption("--tol <TOL>")]
        [Description("Marginal-error tolerance of every solve (default 1e-6).")]
        [DefaultValue(1e-6)]
        public double Tolerance { get; init; } = 1e-6;

        [CommandOption("--max-iter <N>")]
        [Description("Iteration cap of every solve (default 100000); a solve that reaches it is reported unconverged.")]
        [DefaultValue(100_000)]
        public int MaxIterations { get; init; } = 100_000;

        [CommandOption("--quick")]
        [Description("A CI-sized run: n = 300, ε / mean cost ∈ {0.05, 0.01}.")]
        public bool Quick { get; init; }

        [CommandOption("--markdown <PATH>")]
        [Description("Also write the table as Markdown here (e.g. docs/forward.md), with the command that made it.")]
        public string? Markdown { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("JSON output (default bench-forward.json).")]
        [DefaultValue("bench-forward.json")]
        public string Json { get; init; } = "bench-forward.json";
    }

    /// <summary>One method on one problem.</summary>
    public sealed record Row(string Data, int N, double Scale, string Method, int Iterations, int Passes, double Seconds, bool Converged,
        double Value, double SpeedupOverPlain);

    private static readonly (string Name, Func<SinkhornOptions, SinkhornOptions> Configure)[] Methods =
    [
        ("plain", o => o),
        ("mixed", o => o with { Precision = SinkhornPrecision.Mixed }),
        ("gaussian", o => o with { Initializer = SinkhornInitializer.Gaussian }),
        ("anneal", o => o with { Anneal = true }),
        ("anneal+mixed", o => o with { Anneal = true, Precision = SinkhornPrecision.Mixed }),
        ("gaussian+anneal", o => o with { Initializer = SinkhornInitializer.Gaussian, Anneal = true }),
        ("lbfgs", o => o with { Solver = SinkhornSolver.Lbfgs }),
        ("gaussian+lbfgs", o => o with { Initializer = SinkhornInitializer.Gaussian, Solver = SinkhornSolver.Lbfgs }),
        ("subsample", o => o with { Initializer = SinkhornInitializer.Subsample }),
        ("gmm", o => o with { Initializer = SinkhornInitializer.Gmm }),
        ("gmm+lbfgs", o => o with { Initializer = SinkhornInitializer.Gmm, Solver = SinkhornSolver.Lbfgs }),
        ("auto", o => o with { Solver = SinkhornSolver.Auto }),
        ("sinkhorn-lbfgs", o => o with { Solver = SinkhornSolver.SinkhornThenLbfgs }),
    ];

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var sizes = settings.Quick ? [300] : ListOption.Ints(settings.Sizes);
        var scales = settings.Quick ? [0.05, 0.01] : ListOption.Doubles(settings.Scales);
        var rows = new List<Row>();
        foreach (var n in sizes)
            foreach (var (data, x, y) in DataSets(n))
                foreach (var scale in scales)
                {
                    var options = new SinkhornOptions { Solver = SinkhornSolver.Sinkhorn, AllowUnconverged = true, Epsilon = scale, EpsilonRelative = true, Tolerance = settings.Tolerance, MaxIterations = settings.MaxIterations };
                    var measured = Methods.Select(m => Solve(data, n, scale, m.Name, x, y, m.Configure(options), cancellation)).ToList();
                    rows.AddRange(measured.Select(r => r with { SpeedupOverPlain = measured[0].Seconds / r.Seconds }));
                    rows.AddRange(SelfTerms(data, n, scale, x, options, cancellation));
                }
        var table = new Table().Title($"Forward passes to tolerance {settings.Tolerance:G2} (CPU, float64, d = 2)")
            .AddColumns("data", "n", "ε / mean cost", "method", "iterations", "passes", "seconds", "speed-up", "converged");
        foreach (var r in rows)
            table.AddRow(r.Data, $"{r.N}", $"{r.Scale:G3}", r.Method, $"{r.Iterations}", $"{r.Passes}", $"{r.Seconds:F3}",
                double.IsNaN(r.SpeedupOverPlain) ? "—" : $"{r.SpeedupOverPlain:F2}×", r.Converged ? "yes" : "[yellow]no[/]");
        AnsiConsole.Write(table);
        if (settings.Markdown is not null) WriteMarkdown(settings, rows);
        JsonReport.Save(settings.Json, new { benchmark = "forward", tolerance = settings.Tolerance, rows });
        return 0;
    }

    private static void WriteMarkdown(Settings settings, IReadOnlyList<Row> rows)
    {
        var md = new System.Text.StringBuilder();
        var command = settings.Quick ? "otnative bench forward --quick" : $"otnative bench forward --sizes {settings.Sizes} --scales {settings.Scales} --max-iter {settings.MaxIterations}";
        md.AppendLine("# Forward passes: initialisers, annealing, symmetric self-terms").AppendLine();
        md.AppendLine($"Generated by `{command} --tol {settings.Tolerance:G3} --markdown …` on {DateTime.UtcNow:yyyy-MM-dd} " +
                      $"({Environment.ProcessorCount} CPU cores, float64, d = 2). A pass is one streamed sweep over the n×m pairs; an iteration is two, " +
                      "and every solve ends with two more that measure the returned plan's marginals. The speed-up is plain Sinkhorn's seconds over the " +
                      "method's (for self-terms: alternating over symmetric).").AppendLine();
        md.AppendLine("| data | n | ε / mean cost | method | iterations | passes | seconds | speed-up | converged |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine($"| {r.Data} | {r.N} | {r.Scale:G3} | {r.Method} | {r.Iterations} | {r.Passes} | {r.Seconds:F3} | " +
                          $"{(double.IsNaN(r.SpeedupOverPlain) ? "—" : $"{r.SpeedupOverPlain:F2}×")} | {(r.Converged ? "yes" : "no")} |");
        JsonReport.WriteText(settings.Markdown!, md.ToString());
    }

    /// <summary>Uniform clouds in the unit square, two different Gaussian mixtures, and a pair shifted apart.</summary>
    private static IEnumerable<(string Name, double[,] X, double[,] Y)> DataSets(int n)
    {
        var rng = new Random(n);
        var (ux, uy) = UniformClouds.Pair(rng, n, 2);
        yield return ("uniform", ux, uy);
        double[,] Mixture(double[][] centres, double spread)
        {
            var z = Datasets.StandardNormal(rng, n, 2);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < 2; k++) z[i, k] = centres[i % centres.Length][k] + spread * z[i, k];
            return z;
        }
        yield return ("mixtures", Mixture([[0, 0], [3, 1], [1, 3]], 0.4), Mixture([[1, 1], [4, 0], [0, 4], [2, 2]], 0.6));
        var shifted = UniformClouds.Cloud(rng, n, 2);
        for (int i = 0; i < n; i++) shifted[i, 0] += 1.5;
        yield return ("shifted", UniformClouds.Cloud(rng, n, 2), shifted);
    }

    private static Row Solve(string data, int n, double scale, string method, double[,] x, double[,] y, SinkhornOptions options, CancellationToken cancellation)
    {
        using var result = ProgressDisplay.Run($"{data} n={n} ε={scale:G3} {method}", options, o => EntropicOT.Solve(x, y, o, cancellation));
        return new Row(data, n, scale, method, result.Iterations, result.Passes, result.Elapsed.TotalSeconds, result.Converged, result.Value, double.NaN);
    }

    /// <summary>The divergence's self-term L_ε(a, a) by alternating updates and by the symmetric update (one pass an iteration).</summary>
    private static IEnumerable<Row> SelfTerms(string data, int n, double scale, double[,] x, SinkhornOptions options, CancellationToken cancellation)
    {
        using var alternating = EntropicOT.Solve(x, x, options, cancellation);
        using var symmetric = EntropicOT.SolveSelf(x, null, options, cancellation);
        var seconds = alternating.Elapsed.TotalSeconds;
        yield return new Row(data, n, scale, "self-term, alternating", alternating.Iterations, alternating.Passes, seconds,
            alternating.Converged, alternating.Value, double.NaN);
        yield return new Row(data, n, scale, "self-term, symmetric", symmetric.Iterations, symmetric.Passes, symmetric.Elapsed.TotalSeconds,
            symmetric.Converged, symmetric.Value, seconds / symmetric.Elapsed.TotalSeconds);
    }
}
