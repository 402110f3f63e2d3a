namespace OtNative.Benchmarks;

/// <summary>
/// A PyTorch float64 log-domain Sinkhorn with <c>torch.logsumexp</c> over the materialised cost: on the GPU, the
/// baseline of <c>bench gpu</c> (milliseconds per half-step, or "oom" when the n×m cost does not fit); on the CPU
/// with every core, a baseline of <c>bench sinkhorn</c> (milliseconds per iteration).
/// </summary>
public static class TorchBaseline
{
    /// <summary>Finds a Python with torch, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["torch", "numpy"], "Debian: apt-get install python3-torch", out reason);

    /// <summary>Milliseconds per half-step; +∞ when the cost matrix does not fit; NaN without a GPU; null when the run failed.</summary>
    public static double? MillisecondsPerHalfStep(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.TimeOnClouds("torch_sinkhorn.py", x, y, eps, iterations, out error);

    /// <summary>
    /// The paper's Algorithm 1 in PyTorch float64 on the GPU (<c>torch.linalg.eigh</c> of the dense H): best-of-<paramref name="repeats"/>
    /// seconds and the marginal error of its Hessian; +∞ when it does not fit; null when the run failed.
    /// </summary>
    public static (double Seconds, double MarginalError)? AlgorithmOne(this PythonBaseline python, double[,] x, double[,] y, double[] f, double[] g,
        double[] a, double[] b, double eps, double threshold, int repeats, out string? error) =>
        AlgorithmOneBaseline.RunIn(python, "torch", x, y, f, g, a, b, eps, threshold, repeats, out error);

    /// <summary>Milliseconds per iteration (both half-steps) on the CPU, or null (with the error) when the run failed.</summary>
    public static double? CpuMillisecondsPerIteration(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.TimeOnClouds("torch_cpu_sinkhorn.py", x, y, eps, iterations, out error);
}
