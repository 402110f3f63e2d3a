using System.Globalization;

namespace OtNative.Benchmarks;

/// <summary>
/// The paper's Algorithm 1 written directly in numpy (the way its reference code runs): materialise P from the
/// potentials, eigen-decompose the dense (n+m)×(n+m) H, truncate at τ, build R, one GEMM for the Gram part,
/// add the block diagonal. Prints the time and the marginal error (eq. 59) of the Hessian it formed.
/// </summary>
public static class AlgorithmOneBaseline
{
    private const string Script = "algorithm_one.py";

    /// <summary>Finds a Python with numpy, or says why there is none.</summary>
    public static PythonBaseline? TryFind(out string reason) =>
        PythonBaseline.TryFind(["numpy"], "Debian: apt-get install python3-numpy", out reason);

    /// <summary>Best-of-<paramref name="repeats"/> seconds and the marginal error of Algorithm 1 in numpy for the plan given by the potentials.</summary>
    public static (double Seconds, double MarginalError)? Run(this PythonBaseline python, double[,] x, double[,] y, double[] f, double[] g,
        double[] a, double[] b, double eps, double threshold, int repeats, out string? error) =>
        RunIn(python, "numpy", x, y, f, g, a, b, eps, threshold, repeats, out error);

    /// <summary>The script with <paramref name="library"/> (<c>numpy</c>, <c>torch</c>) on the plan given by the potentials: its seconds and marginal error.</summary>
    internal static (double Seconds, double MarginalError)? RunIn(PythonBaseline python, string library, double[,] x, double[,] y, double[] f,
        double[] g, double[] a, double[] b, double eps, double threshold, int repeats, out string? error)
    {
        var arrays = new Dictionary<string, NumericArray>
        {
            ["x"] = NumericArray.FromMatrix(x), ["y"] = NumericArray.FromMatrix(y),
            ["f"] = new(f, [f.Length]), ["g"] = new(g, [g.Length]), ["a"] = new(a, [a.Length]), ["b"] = new(b, [b.Length]),
        };
        var output = python.Run(Script, arrays, [eps.ToString("R", CultureInfo.InvariantCulture), threshold.ToString("R", CultureInfo.InvariantCulture),
            repeats.ToString(CultureInfo.InvariantCulture), library], out error);
        return output is null ? null : (output[0], output[1]);
    }
}
