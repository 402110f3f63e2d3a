namespace OtNative.Benchmarks.Commands;

/// <summary>
/// The Euclidean distance written as a user would write a cost (scalar <see cref="ICostFunction.Value"/>, the default row):
/// what the <c>custom</c> variant of <c>bench sinkhorn</c> times against the built-in SIMD <see cref="GroundCost.Euclidean"/>.
/// </summary>
internal sealed class UserEuclideanCost : ICostFunction
{
    public string Name => "user-euclidean";

    public bool IsSymmetric => true;

    public bool IsTranslationInvariant => true;

    public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
        return Math.Sqrt(s);
    }

    public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
    {
        double norm = Value(x, y);
        for (int k = 0; k < x.Length; k++) gradient[k] = norm > 0 ? (x[k] - y[k]) / norm : 0;
    }

    public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
    {
        int d = x.Length;
        double norm = Value(x, y);
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                hessian[a * d + b] = norm > 0 ? ((a == b ? 1 : 0) - (x[a] - y[a]) * (x[b] - y[b]) / (norm * norm)) / norm : 0;
    }
}
