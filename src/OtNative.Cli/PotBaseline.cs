using System.Globalization;

namespace OtNative.Cli;

/// <summary>Times POT's <c>ot.sinkhorn(method="sinkhorn_log")</c> (numpy on the machine's BLAS) on the same point clouds.</summary>
public static class PotBaseline
{
    private const string Script = """
        import sys, os, time, warnings
        import numpy as np, ot
        d = sys.argv[1]; x = np.load(os.path.join(d, "x.npy")); y = np.load(os.path.join(d, "y.npy"))
        eps = float(sys.argv[2]); iters = int(sys.argv[3])
        a = np.full(len(x), 1.0 / len(x)); b = np.full(len(y), 1.0 / len(y))
        M = ot.dist(x, y)
        warnings.simplefilter("ignore")
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=2, stopThr=0.0)
        t = time.perf_counter()
        ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=iters, stopThr=0.0)
        print(repr((time.perf_counter() - t) / iters * 1000.0))
        """;

    /// <summary>Finds a Python with POT, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["ot", "numpy"], "Debian: apt-get install python3-pot", out reason);

    /// <summary>Milliseconds per iteration on these clouds, or null (with the error) when the run failed.</summary>
    public static double? MillisecondsPerIteration(this PythonBaseline python, double[,] x, double[,] y, double eps, int iterations, out string? error) =>
        python.Run(Script, new Dictionary<string, NumericArray> { ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y) },
            [eps.ToString("R", CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture)], out error)?[0];
}
