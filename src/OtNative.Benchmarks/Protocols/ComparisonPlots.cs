using ScottPlot;

namespace OtNative.Benchmarks;

/// <summary>The paper's Figure 2 in PNG: runtime and marginal error against n, log-log, one curve per method and ε.</summary>
public static class ComparisonPlots
{
    /// <summary>Writes runtime.png and error.png into <paramref name="dir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(string dir, IReadOnlyList<AccuracyCell> accuracy, IReadOnlyList<RuntimeCell> runtime)
    {
        Directory.CreateDirectory(dir);
        var runtimePath = Path.Combine(dir, "runtime.png");
        LogLog(runtimePath, "Hessian runtime (median, CPU)", "seconds",
            runtime.Where(c => c.MedianSeconds is > 0).GroupBy(c => (c.Method, c.Scale))
                .Select(g => ($"{g.Key.Method}, ε = {g.Key.Scale} × mean cost", g.Select(c => ((double)c.N, c.MedianSeconds!.Value)).ToArray())));
        var errorPath = Path.Combine(dir, "error.png");
        LogLog(errorPath, "Marginal error of the Hessian (median over seeds; < 0.1 is a success)", "‖Σ_l Hess[k,:,l,:] − 2 a_k I‖_F",
            accuracy.Where(c => double.IsFinite(c.MedianError) && c.MedianError > 0).GroupBy(c => (c.Method, c.Scale))
                .Select(g => ($"{g.Key.Method}, ε = {g.Key.Scale}", g.Select(c => ((double)c.N, c.MedianError)).ToArray())));
        return [runtimePath, errorPath];
    }

    private static void LogLog(string path, string title, string yLabel, IEnumerable<(string Label, (double X, double Y)[] Points)> series)
    {
        var plot = new Plot();
        foreach (var (label, points) in series)
        {
            var line = plot.Add.Scatter(points.Select(p => Math.Log10(p.X)).ToArray(), points.Select(p => Math.Log10(p.Y)).ToArray());
            line.LegendText = label;
        }
        plot.Title(title);
        plot.XLabel("log10 n");
        plot.YLabel($"log10 {yLabel}");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 600);
    }
}
