namespace OtNative.Tests;

/// <summary>
/// The squared Euclidean cost written as a user would: the general path's reference against the built-in fast path, and
/// the base of the hostile tests' variants of it.
/// </summary>
internal class UserSquaredEuclidean : ICostFunction
{
    public virtual string Name => "user-sqeuclidean";
    public bool IsSymmetric => true;
    public bool IsTranslationInvariant => true;
    public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double s = 0;
        for (int k = 0; k < x.Length; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
        return s;
    }
    public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
    {
        for (int k = 0; k < x.Length; k++) gradient[k] = 2 * (x[k] - y[k]);
    }
    public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
    {
        hessian.Clear();
        for (int k = 0; k < x.Length; k++) hessian[k * x.Length + k] = 2;
    }
}
