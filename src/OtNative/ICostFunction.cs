namespace OtNative;

/// <summary>
/// A user-defined ground cost c(x, y) between a source point x and a target point y of d coordinates, with its derivatives
/// in x for one pair. Wrap it with <see cref="GroundCost.Custom"/> and set it as <see cref="SinkhornOptions.Cost"/>: solves,
/// values, gradients, the dense Hessian, Hessian-vector products and the spectrum then use it (on the CPU; the CUDA kernels
/// evaluate the squared Euclidean cost only). Every derivative is formed pair by pair from ∇ₓc and ∇²ₓc.
/// The methods are called from several threads at once: an implementation must be thread-safe (a pure function is).
/// </summary>
public interface ICostFunction
{
    /// <summary>The name results, errors and the JSON output give the cost.</summary>
    string Name => GetType().Name;

    /// <summary>c(x, y). It must be finite for every pair of the problem (a solve checks every pair once).</summary>
    /// <param name="x">The source point (d values).</param>
    /// <param name="y">The target point (d values).</param>
    /// <returns>The cost of moving a unit of mass from x to y.</returns>
    double Value(ReadOnlySpan<double> x, ReadOnlySpan<double> y);

    /// <summary>∇ₓc(x, y).</summary>
    /// <param name="x">The source point (d values).</param>
    /// <param name="y">The target point (d values).</param>
    /// <param name="gradient">Where to write the d partial derivatives (zeroed before the call: entries left unwritten are 0).</param>
    void Gradient(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> gradient);

    /// <summary>∇²ₓc(x, y), symmetric.</summary>
    /// <param name="x">The source point (d values).</param>
    /// <param name="y">The target point (d values).</param>
    /// <param name="hessian">Where to write the d × d second derivatives, row-major (zeroed before the call: entries left
    /// unwritten are 0).</param>
    void Hessian(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> hessian);

    /// <summary>
    /// costs[j] = c(x, y_j) for every target: the streamed passes ask for one row per source point at each half-step, so
    /// a vectorised implementation here is what makes a solve fast. The default calls <see cref="Value"/> for each target.
    /// </summary>
    /// <param name="x">The source point (d values).</param>
    /// <param name="targets">The m target points, row-major (m × d values).</param>
    /// <param name="costs">Where to write the m costs: every one of them (the entries arrive as NaN, and a solve refuses a
    /// cost that leaves one unwritten).</param>
    void Row(ReadOnlySpan<double> x, ReadOnlySpan<double> targets, Span<double> costs)
    {
        int d = x.Length;
        for (int j = 0; j < costs.Length; j++) costs[j] = Value(x, targets.Slice(j * d, d));
    }

    /// <summary>
    /// Whether c(x, y) = c(y, x) for every pair. The debiased divergence needs it (its self-terms transport a cloud onto
    /// itself). Default false.
    /// </summary>
    bool IsSymmetric => false;

    /// <summary>
    /// Whether c(x + t, y + t) = c(x, y) for every shift t (a function of x − y): the solver may then centre the clouds,
    /// and the divergence's second derivatives (which use ∇_y c = −∇ₓc) are available. Default false.
    /// </summary>
    bool IsTranslationInvariant => false;
}
