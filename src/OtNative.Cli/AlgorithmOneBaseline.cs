using System.Globalization;

namespace OtNative.Cli;

/// <summary>
/// The paper's Algorithm 1 written directly in numpy (the way its reference code runs): materialise P from the
/// potentials, eigen-decompose the dense (n+m)×(n+m) H, truncate at τ, build R, one GEMM for the Gram part,
/// add the block diagonal. Prints the time and the marginal error (eq. 59) of the Hessian it formed.
/// </summary>
public static class AlgorithmOneBaseline
{
    private const string Script = """
        import sys, os, time
        import numpy as np
        d = sys.argv[1]
        x, y, f, g, a, b = (np.load(os.path.join(d, k + ".npy")) for k in ("x", "y", "f", "g", "a", "b"))
        eps = float(sys.argv[2]); tau = float(sys.argv[3]); repeats = int(sys.argv[4])
        def hessian():
            n, dim = x.shape; m = len(y)
            diff = x[:, None, :] - y[None, :, :]
            P = a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - (diff ** 2).sum(-1)) / eps)
            r = P.sum(1); s = P.sum(0)
            H = np.block([[np.diag(r), P], [P.T, np.diag(s)]])
            lam, V = np.linalg.eigh(H)
            keep = lam > tau
            grad_c = 2.0 * diff
            R = np.zeros((n + m, n, dim))
            R[np.arange(n), np.arange(n), :] = np.einsum("kj,kjd->kd", P, grad_c)
            R[n:, :, :] = np.einsum("kj,kjd->jkd", P, grad_c)
            B = R.reshape(n + m, n * dim).T @ (V[:, keep] / np.sqrt(lam[keep]))
            hess = (B @ B.T / eps).reshape(n, dim, n, dim)
            block = -np.einsum("kj,kjp,kjq->kpq", P, grad_c, grad_c) / eps + 2.0 * r[:, None, None] * np.eye(dim)
            hess[np.arange(n), :, np.arange(n), :] += block
            return hess
        seconds = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            hess = hessian()
            seconds = min(seconds, time.perf_counter() - t)
        n, dim = x.shape
        err = np.sqrt(((hess.sum(axis=2) - 2.0 * a[:, None, None] * np.eye(dim)) ** 2).sum())
        print(repr(seconds), repr(err))
        """;

    /// <summary>Finds a Python with numpy, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["numpy"], "Debian: apt-get install python3-numpy", out reason);

    /// <summary>Best-of-<paramref name="repeats"/> seconds and the marginal error of Algorithm 1 in numpy for the plan given by the potentials.</summary>
    public static (double Seconds, double MarginalError)? Run(this PythonBaseline python, double[,] x, double[,] y, double[] f, double[] g,
        double[] a, double[] b, double eps, double threshold, int repeats, out string? error)
    {
        var arrays = new Dictionary<string, NumericArray>
        {
            ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y),
            ["f"] = new(f, [f.Length]), ["g"] = new(g, [g.Length]), ["a"] = new(a, [a.Length]), ["b"] = new(b, [b.Length]),
        };
        var output = python.Run(Script, arrays, [eps.ToString("R", CultureInfo.InvariantCulture), threshold.ToString("R", CultureInfo.InvariantCulture),
            repeats.ToString(CultureInfo.InvariantCulture)], out error);
        return output is null ? null : (output[0], output[1]);
    }
}
