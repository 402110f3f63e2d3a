namespace OtNative.Tests;

/// <summary>Seeded clouds and small helpers shared by the façade and CLI tests.</summary>
internal static class TestData
{
    public static double[,] Cloud(int seed, int n, int d, double shift = 0)
    {
        var rng = new Random(seed);
        var x = new double[n, d];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++)
                x[i, k] = shift + rng.NextDouble() * 2 - 1;
        return x;
    }

    public static double MaxRelativeError(IReadOnlyList<double> actual, IReadOnlyList<double> expected)
    {
        double num = 0, den = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            num = Math.Max(num, Math.Abs(actual[i] - expected[i]));
            den = Math.Max(den, Math.Abs(expected[i]));
        }
        return num / den;
    }

    public static double MaxRelativeError(double[,] actual, double[,] expected)
    {
        double num = 0, den = 0;
        for (int i = 0; i < actual.GetLength(0); i++)
            for (int k = 0; k < actual.GetLength(1); k++)
            {
                num = Math.Max(num, Math.Abs(actual[i, k] - expected[i, k]));
                den = Math.Max(den, Math.Abs(expected[i, k]));
            }
        return num / den;
    }

    /// <summary>
    /// The gradient in x of <paramref name="value"/> of the solve at (x, y) by central differences of step
    /// <paramref name="step"/>, each moved solve warm-started from <paramref name="f"/> (the unmoved solve's potential).
    /// </summary>
    public static double[,] SolveDifferences(double[,] x, double[,] y, SinkhornOptions options, IReadOnlyList<double> f, double step,
        Func<SinkhornResult, double> value) =>
        CentralDifferences(x, step, (moved, _) =>
        {
            using var r = EntropicOT.Solve(moved, y, options with { InitialF = f });
            return value(r);
        });

    /// <summary>The Hessian in x of the solve's value: <see cref="GradientDifferences"/> of its warm-started gradients.</summary>
    public static double[,] SolveHessianDifferences(double[,] x, double[,] y, SinkhornOptions options, IReadOnlyList<double> f, double step) =>
        GradientDifferences(x, step, moved =>
        {
            using var r = EntropicOT.Solve(moved, y, options with { InitialF = f });
            return r.Gradient();
        });

    /// <summary>
    /// The Hessian (n·d × n·d, index k·d + q) as central differences of step <paramref name="step"/> of
    /// <paramref name="gradient"/> (n × d), one coordinate of x at a time: column t is the gradient's change along x's t-th coordinate.
    /// </summary>
    public static double[,] GradientDifferences(double[,] x, double step, Func<double[,], double[,]> gradient)
    {
        int n = x.GetLength(0), d = x.GetLength(1), nd = n * d;
        var hessian = new double[nd, nd];
        for (int t = 0; t < nd; t++)
        {
            double[,] At(double delta)
            {
                var moved = (double[,])x.Clone();
                moved[t / d, t % d] += delta;
                return gradient(moved);
            }
            var plus = At(step);
            var minus = At(-step);
            for (int u = 0; u < nd; u++) hessian[u, t] = (plus[u / d, u % d] - minus[u / d, u % d]) / (2 * step);
        }
        return hessian;
    }

    /// <summary>
    /// The gradient of <paramref name="value"/> at <paramref name="x"/> by central differences of step
    /// <paramref name="step"/>, one coordinate at a time; <paramref name="value"/> gets a moved copy of x and the
    /// coordinate it moved.
    /// </summary>
    public static double[,] CentralDifferences(double[,] x, double step, Func<double[,], (int Row, int Column, double Delta), double> value)
    {
        var fd = new double[x.GetLength(0), x.GetLength(1)];
        for (int i = 0; i < x.GetLength(0); i++)
            for (int k = 0; k < x.GetLength(1); k++)
            {
                double At(double delta)
                {
                    var moved = (double[,])x.Clone();
                    moved[i, k] += delta;
                    return value(moved, (i, k, delta));
                }
                fd[i, k] = (At(step) - At(-step)) / (2 * step);
            }
        return fd;
    }

    /// <summary>The repository's root (the folder with OtNative.sln above the test binaries), or null outside a source tree.</summary>
    public static string? RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OtNative.sln"))) dir = dir.Parent;
        return dir?.FullName;
    }

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "otnative-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// A fresh directory holding each array as <c>name.npy</c>: the inputs of a command-line test. Returns the path of a
    /// file in it (the inputs, and the outputs the command writes there).
    /// </summary>
    public static Func<string, string> NpyInputs(params (string Name, double[,] Data)[] arrays)
    {
        var dir = TempDirectory();
        foreach (var (name, data) in arrays) NpyFile.Write(Path.Combine(dir, name + ".npy"), data);
        return file => Path.Combine(dir, file);
    }
}

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and arrive late).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
