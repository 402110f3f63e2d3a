using OtNative.Core;

namespace OtNative;

/// <summary>
/// A user's <see cref="ICostFunction"/> as the core's pair cost. The derivatives it returns are checked: a value that is
/// not finite fails naming the cost and the pair's coordinates, where it would otherwise turn a result into NaN.
/// </summary>
internal sealed class CostFunctionAdapter(ICostFunction function) : IPairCost
{
    public ICostFunction Function { get; } = function;

    public string Name => Function.Name;

    public bool TranslationInvariant => Function.IsTranslationInvariant;

    public bool Symmetric => Function.IsSymmetric;

    public double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double value = Function.Value(x, y);
        if (!double.IsFinite(value)) throw NotFinite("value", x, y);
        return value;
    }

    public void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient)
    {
        // The buffers are reused from pair to pair: an implementation that leaves an entry unwritten gets 0, not the last pair's.
        gradient.Clear();
        Function.Gradient(x, y, gradient);
        foreach (var v in gradient)
            if (!double.IsFinite(v)) throw NotFinite("gradient", x, y);
    }

    public void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian)
    {
        hessian.Clear();
        Function.Hessian(x, y, hessian);
        foreach (var v in hessian)
            if (!double.IsFinite(v)) throw NotFinite("Hessian", x, y);
    }

    // The solve checks every pair's cost once (its ε needs the largest); the rows of later passes are not checked again.
    // The span is a buffer rented from the shared pool: a Row that skips an entry would leave whatever an earlier user of
    // the buffer wrote there, different from pass to pass. NaN in its place makes that check refuse the cost instead.
    public void Row(ReadOnlySpan<double> x, ReadOnlySpan<double> targets, Span<double> costs)
    {
        costs.Fill(double.NaN);
        Function.Row(x, targets, costs);
    }

    private ArgumentException NotFinite(string what, ReadOnlySpan<double> x, ReadOnlySpan<double> y) =>
        new($"The cost {Name} gave a {what} that is not finite at x = ({string.Join(", ", x.ToArray())}), y = ({string.Join(", ", y.ToArray())}).", nameof(SinkhornOptions.Cost));
}
