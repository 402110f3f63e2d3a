using System.Globalization;

namespace OtNative.Benchmarks;

/// <summary>
/// A PyTorch float64 log-domain Sinkhorn on the GPU with <c>torch.logsumexp</c> over the materialised cost — the
/// baseline of <c>bench gpu</c>. Prints milliseconds per half-step, or "oom" when the n×m cost does not fit.
/// </summary>
public static class TorchBaseline
{
    private const string Script = "torch_sinkhorn.py";

    /// <summary>Finds a Python with torch, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["torch", "numpy"], "pip install torch", out reason);

    /// <summary>Milliseconds per half-step; +∞ when the cost matrix does not fit; NaN without a GPU; null when the run failed.</summary>
    public static double? MillisecondsPerHalfStep(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.Run(Script, new Dictionary<string, NumericArray> { ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y) },
            [eps.ToString("R", CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture)], out error)?[0];
}
