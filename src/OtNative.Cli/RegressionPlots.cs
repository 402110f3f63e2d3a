using ScottPlot;

namespace OtNative.Cli;

/// <summary>PNG figures of a shuffled-regression comparison (ScottPlot): loss, parameter error, and the clouds.</summary>
public static class RegressionPlots
{
    /// <summary>Writes loss.png, param-error.png (when θ* is known) and clouds.png into <paramref name="dir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string dir, string title, RegressionComparison run, double[,] design, double[,] targets)
    {
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        var series = new (string Name, IReadOnlyList<RegressionIteration> History)[]
        {
            ("SGD", run.Sgd), ("SGD → Newton", run.Newton.History), ("SGD → GD", run.GradientDescent.History),
        };
        written.Add(Curves(Path.Combine(dir, "loss.png"), $"{title}: loss", "L_ε(Xθ, Y) − min", series, LossGap(run)));
        if (run.Sgd.Concat(run.Newton.History).All(i => !double.IsNaN(i.ParameterError)))
            written.Add(Curves(Path.Combine(dir, "param-error.png"), $"{title}: parameter error", "‖θ − θ*‖", series, i => i.ParameterError));
        written.Add(Clouds(Path.Combine(dir, "clouds.png"), $"{title}: target vs fitted (first two coordinates)", design, targets, run.Newton.Parameters));
        return written;
    }

    /// <summary>Loss above the best loss seen (floored at 1e-12) so that a log axis shows convergence.</summary>
    private static Func<RegressionIteration, double> LossGap(RegressionComparison run)
    {
        var best = run.Sgd.Concat(run.Newton.History).Concat(run.GradientDescent.History).Min(i => i.Loss);
        return i => Math.Max(i.Loss - best, 1e-12);
    }

    private static string Curves(string path, string title, string yLabel, (string Name, IReadOnlyList<RegressionIteration> History)[] series, Func<RegressionIteration, double> value)
    {
        var plot = new Plot();
        int offset = 0;
        foreach (var (name, history) in series)
        {
            if (history.Count == 0) continue;
            // Newton and GD both start where SGD ended: draw them from the same iteration.
            var start = name == "SGD" ? 0 : offset;
            var xs = history.Select((_, k) => (double)(start + k)).ToArray();
            var ys = history.Select(i => Math.Log10(value(i))).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = name;
            line.MarkerSize = history.Count > 60 ? 0 : 4;
            if (name == "SGD") offset = Math.Max(0, history.Count - 1);
        }
        plot.Title(title);
        plot.XLabel("iteration");
        plot.YLabel($"log10 {yLabel}");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
        return path;
    }

    /// <summary>The fitted points X θ.</summary>
    private static double[,] Product(double[,] x, double[,] theta)
    {
        var result = new double[x.GetLength(0), theta.GetLength(1)];
        for (int i = 0; i < x.GetLength(0); i++)
            for (int k = 0; k < x.GetLength(1); k++)
                for (int j = 0; j < theta.GetLength(1); j++)
                    result[i, j] += x[i, k] * theta[k, j];
        return result;
    }

    private static string Clouds(string path, string title, double[,] design, double[,] targets, double[,] theta)
    {
        var fitted = Product(design, theta);
        var plot = new Plot();
        var target = plot.Add.ScatterPoints(Column(targets, 0), Column(targets, 1));
        target.LegendText = "target Y";
        target.MarkerSize = 3;
        var fit = plot.Add.ScatterPoints(Enumerable.Range(0, fitted.GetLength(0)).Select(i => fitted[i, 0]).ToArray(),
                                         Enumerable.Range(0, fitted.GetLength(0)).Select(i => fitted[i, 1]).ToArray());
        fit.LegendText = "fitted Xθ (Newton)";
        fit.MarkerSize = 3;
        plot.Title(title);
        plot.ShowLegend();
        plot.SavePng(path, 700, 600);
        return path;
    }

    private static double[] Column(double[,] m, int c) => Enumerable.Range(0, m.GetLength(0)).Select(i => m[i, c]).ToArray();
}
