using OtNative.Terminal;
using Spectre.Console;

namespace OtNative.Cli;

/// <summary>The data of one regression experiment: design, targets, start and (when known) the truth.</summary>
/// <remarks>With <paramref name="Map"/> and <paramref name="Phi0"/> the fit is over φ with θ = map(φ) (e.g. rotation + scale); Theta0 is then map(φ₀).</remarks>
public sealed record RegressionData(string Name, double[,] X, double[,] Y, double[,] Theta0, double[,]? ThetaStar, ParameterMap? Map = null, double[]? Phi0 = null)
{
    /// <summary>A data set of <see cref="Datasets"/> under a name.</summary>
    public static RegressionData Of(string name, RegressionProblem p) => new(name, p.X, p.Y, p.Theta0, p.ThetaStar, p.Map, p.Phi0);
}

/// <summary>Runs SGD → Newton and SGD → GD on one data set, prints the comparison, writes plots and JSON.</summary>
public static class RegressionRun
{
    /// <summary>Loads --x/--y user data, or returns null when the synthetic set is wanted.</summary>
    public static RegressionData? UserData(RegressSettings s)
    {
        if (s.X is null) return null;
        var x = ArrayFile.Read(s.X).ToMatrix();
        var y = ArrayFile.Read(s.Y!).ToMatrix();
        int p = x.GetLength(1), d = y.GetLength(1);
        var theta0 = s.Theta0 is not null ? ArrayFile.Read(s.Theta0).ToMatrix() : DefaultStart(p, d, s.Seed);
        var thetaStar = s.ThetaStar is not null ? ArrayFile.Read(s.ThetaStar).ToMatrix() : null;
        return new RegressionData(Path.GetFileNameWithoutExtension(s.Y!), x, y, theta0, thetaStar);
    }

    /// <summary>The identity for a square map (registration), else N(0, 1/p) entries.</summary>
    private static double[,] DefaultStart(int p, int d, int seed)
    {
        var t = p == d ? new double[p, d] : Datasets.StandardNormal(new Random(seed), p, d);
        for (int i = 0; i < p; i++)
            for (int j = 0; j < d; j++)
                t[i, j] = p == d ? (i == j ? 1.0 : 0.0) : t[i, j] / Math.Sqrt(p);
        return t;
    }

    /// <summary>Runs the comparison with a live status line and reports it; returns the exit code.</summary>
    public static int Execute(RegressionData data, RegressSettings s, string experiment)
    {
        AnsiConsole.MarkupLine($"[bold]regress {experiment}[/] ({Markup.Escape(data.Name)}): X {data.X.GetLength(0)}×{data.X.GetLength(1)}, " +
                               $"Y {data.Y.GetLength(0)}×{data.Y.GetLength(1)}, ε = {s.Eps}");
        if (OtNativeEnvironment.Describe() is { NativeLinearAlgebra: false } environment)
            AnsiConsole.MarkupLine($"[yellow]note: Newton's dense linear algebra runs on the managed Math.NET fallback ({Markup.Escape(environment.NativeLinearAlgebraStatus)}); " +
                                   "install libopenblas0-pthread and liblapacke (build/provision.sh) for several times faster Newton steps.[/]");
        var latest = new LatestIteration();
        var run = ProgressDisplay.Run($"regress {experiment}", latest.Describe,
            () => Fit(data, s.Options(latest)));
        var table = new Table().Title($"Shuffled regression, {Markup.Escape(data.Name)}")
            .AddColumns("method", "iterations", "seconds", "final loss", "‖θ − θ*‖", "stopped because");
        foreach (var (name, fit) in new[] { ("SGD → Newton", run.Newton), ("SGD → GD", run.GradientDescent) })
            table.AddRow(name, $"{fit.Iterations}", $"{fit.Seconds:F2}", $"{fit.FinalLoss:G6}",
                double.IsNaN(fit.ParameterError) ? "—" : $"{fit.ParameterError:G4}", Markup.Escape(fit.StopReason));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"shared SGD stage: {Math.Max(0, run.Sgd.Count - 1)} steps" +
                               (run.Newton.History.Any(i => i.Damped) ? $"; Newton took {run.Newton.History.Count(i => i.Damped)} damped step(s) where ∇²L was not positive definite" : ""));
        var evaluations = run.Sgd.Concat(run.Newton.History).Concat(run.GradientDescent.History).ToList();
        int unsolved = evaluations.Count(i => !i.SinkhornConverged), unconvergedCg = evaluations.Count(i => !i.HessianCgConverged);
        if (unsolved + unconvergedCg > 0)
            AnsiConsole.MarkupLine($"[yellow]{unsolved} of {evaluations.Count} evaluations stopped Sinkhorn above its tolerance and {unconvergedCg} parameter Hessians' CG " +
                                   "did not converge: those losses, gradients and Newton steps are the returned plans' (see sinkhornConverged / hessianCgConverged in --json).[/]");
        var plots = RegressionPlots.Write(s.Plots, data.Name, run, data.X, data.Y);
        AnsiConsole.MarkupLine($"plots: {Markup.Escape(string.Join(", ", plots))}");
        if (s.Json is not null)
        {
            JsonReport.Write(s.Json, new
            {
                experiment, data = data.Name, n = data.X.GetLength(0), m = data.Y.GetLength(0), p = data.X.GetLength(1), d = data.Y.GetLength(1),
                epsilon = s.Eps, sgd = Series(run.Sgd), newton = Fit(run.Newton), gd = Fit(run.GradientDescent), plots,
            });
            AnsiConsole.MarkupLine($"saved {Markup.Escape(s.Json)}");
        }
        return 0;
    }

    /// <summary>SGD → Newton and SGD → GD on the data, over θ or over φ when the data carry a map.</summary>
    public static RegressionComparison Fit(RegressionData data, RegressionOptions options) =>
        data.Map is { } map
            ? ShuffledRegression.Compare(data.X, data.Y, map, data.Phi0!, data.ThetaStar, options)
            : ShuffledRegression.Compare(data.X, data.Y, data.Theta0, data.ThetaStar, options);

    private static object Fit(RegressionFit fit) => new
    {
        iterations = fit.Iterations, seconds = fit.Seconds, finalLoss = fit.FinalLoss,
        paramError = double.IsNaN(fit.ParameterError) ? (double?)null : fit.ParameterError,
        stopReason = fit.StopReason, theta = fit.Parameters.ToJagged(), series = Series(fit.History),
    };

    private static object Series(IReadOnlyList<RegressionIteration> h) => new
    {
        loss = h.Select(i => i.Loss), gradientNorm = h.Select(i => i.GradientNorm),
        paramError = h.Select(i => double.IsNaN(i.ParameterError) ? (double?)null : i.ParameterError),
        minEigenvalue = h.Select(i => double.IsNaN(i.MinEigenvalue) ? (double?)null : i.MinEigenvalue),
        maxEigenvalue = h.Select(i => double.IsNaN(i.MaxEigenvalue) ? (double?)null : i.MaxEigenvalue),
        damped = h.Select(i => i.Damped), stepSize = h.Select(i => i.StepSize), sinkhornIterations = h.Select(i => i.SinkhornIterations),
        sinkhornConverged = h.Select(i => i.SinkhornConverged), hessianCgConverged = h.Select(i => i.HessianCgConverged),
        time = h.Select(i => i.Seconds),
    };

    private static double[][] ToJagged(this double[,] m) =>
        Enumerable.Range(0, m.GetLength(0)).Select(i => Enumerable.Range(0, m.GetLength(1)).Select(j => m[i, j]).ToArray()).ToArray();

    /// <summary>Keeps the latest iteration for the status line.</summary>
    public sealed class LatestIteration : IProgress<RegressionIteration>
    {
        private RegressionIteration? _latest;
        /// <inheritdoc />
        public void Report(RegressionIteration value) => Volatile.Write(ref _latest, value);
        /// <summary>A one-line description of the latest iteration.</summary>
        public string Describe() => Volatile.Read(ref _latest) is { } i
            ? $"{i.Stage} iteration {i.Iteration}, loss {i.Loss:G6}, ‖∇‖ {i.GradientNorm:G3}, {i.Seconds:F1} s"
            : "starting";
    }
}
