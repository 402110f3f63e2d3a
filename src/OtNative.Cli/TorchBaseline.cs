using System.Globalization;

namespace OtNative.Cli;

/// <summary>
/// A PyTorch float64 log-domain Sinkhorn on the GPU with <c>torch.logsumexp</c> over the materialised cost — the
/// baseline of <c>bench gpu</c>. Prints milliseconds per half-step, or "oom" when the n×m cost does not fit.
/// </summary>
public static class TorchBaseline
{
    private const string Script = """
        import sys, os, time, math
        import numpy as np, torch
        d = sys.argv[1]; eps = float(sys.argv[2]); iters = int(sys.argv[3])
        if not torch.cuda.is_available():
            print("NaN NaN"); sys.exit(0)
        try:
            x = torch.from_numpy(np.load(os.path.join(d, "x.npy"))).cuda(); y = torch.from_numpy(np.load(os.path.join(d, "y.npy"))).cuda()
            n, m = x.shape[0], y.shape[0]
            C = torch.cdist(x, y) ** 2
            loga = torch.full((n,), -math.log(n), dtype=torch.float64, device="cuda"); logb = torch.full((m,), -math.log(m), dtype=torch.float64, device="cuda")
            f = torch.zeros(n, dtype=torch.float64, device="cuda"); g = torch.zeros(m, dtype=torch.float64, device="cuda")
            def half():
                global f
                f = -eps * torch.logsumexp(logb[None, :] + (g[None, :] - C) / eps, dim=1)
            half(); torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(iters): half()
            torch.cuda.synchronize()
            print(repr((time.perf_counter() - t) / iters * 1000.0), repr(float(n * m)))
        except torch.cuda.OutOfMemoryError:
            print("Infinity Infinity")
        """;

    /// <summary>Finds a Python with torch, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["torch", "numpy"], "pip install torch", out reason);

    /// <summary>Milliseconds per half-step; +∞ when the cost matrix does not fit; NaN without a GPU; null when the run failed.</summary>
    public static double? MillisecondsPerHalfStep(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.Run(Script, new Dictionary<string, NumericArray> { ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y) },
            [eps.ToString("R", CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture)], out error)?[0];
}
