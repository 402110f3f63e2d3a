using MathNet.Numerics.LinearAlgebra;
using OtNative.Core;

namespace OtNative;

/// <summary>
/// The cost c(x, y) of moving a unit of mass from source point x to target point y. The default is the squared Euclidean
/// distance ‖x − y‖². A Mahalanobis cost (x − y)ᵀ M (x − y) with M = LᵀL is the squared Euclidean cost between the mapped
/// points L x and L y, so it runs on the same streamed kernels; every derivative in x (gradient, Hessian, Hessian-vector
/// products, parameter Hessians, the sharp gradient) is mapped back: ∇ₓ = Lᵀ ∇, ∇²ₓ = (I ⊗ Lᵀ) ∇² (I ⊗ L). The Euclidean
/// distance ‖x − y‖, its powers ‖x − y‖ᵖ and a user's <see cref="ICostFunction"/> run on streamed CPU kernels of their own
/// (SIMD square roots and powers for the built-in ones), and their derivatives are formed pair by pair from ∇ₓc and ∇²ₓc.
/// Values, potentials and the plan are those of the cost itself. Costs apply to point clouds; a cost matrix is its own cost.
/// </summary>
public sealed class GroundCost
{
    private readonly double[,]? _metric;

    private GroundCost(GroundCostKind kind, double[,]? metric, CoordinateMap map, IPairCost? pairCost = null, double exponent = 2)
    {
        Kind = kind;
        _metric = metric;
        Map = map;
        PairCost = pairCost;
        Exponent = exponent;
    }

    /// <summary>
    /// The exponent p of a distance power ‖x − y‖ᵖ: 2 for the squared Euclidean and Mahalanobis costs, 1 for the Euclidean
    /// distance, p for <see cref="PNorm"/>; NaN for a <see cref="Custom"/> cost.
    /// </summary>
    public double Exponent { get; }

    /// <summary>The user's function of a <see cref="Custom"/> cost, or null.</summary>
    public ICostFunction? Function => (PairCost as CostFunctionAdapter)?.Function;

    /// <summary>The core's pair cost for a cost other than the squared Euclidean one and its linear maps, or null.</summary>
    internal IPairCost? PairCost { get; }

    /// <summary>
    /// ‖x − y‖, the Euclidean distance (the Wasserstein-1 ground cost; GeomLoss's p = 1). Its gradient (x − y)/‖x − y‖ is
    /// undefined where a source and a target point coincide: there the code takes 0, the subgradient of least norm, and
    /// 0 for the Hessian (I − uuᵀ)/‖x − y‖, which grows without bound as the points approach.
    /// </summary>
    public static GroundCost Euclidean { get; } = new(GroundCostKind.Euclidean, null, CoordinateMap.Identity, new DistancePower(1.0), 1.0);

    /// <summary>
    /// ‖x − y‖ᵖ for p ≥ 1 (POT's <c>minkowski</c>-to-the-p; <c>PNorm(1)</c> is <see cref="Euclidean"/>, <c>PNorm(2)</c> the
    /// squared Euclidean default). Gradient p‖x − y‖^{p−2}(x − y), Hessian p‖x − y‖^{p−2}(I + (p − 2)uuᵀ); at coincident
    /// points both are taken as 0 (the limit for p &gt; 2; for p &lt; 2 the Hessian grows like ‖x − y‖^{p−2} as they approach).
    /// </summary>
    /// <param name="p">The exponent, finite and at least 1.</param>
    /// <returns>The cost.</returns>
    /// <exception cref="ArgumentOutOfRangeException">p is below 1, infinite or NaN.</exception>
    public static GroundCost PNorm(double p)
    {
        if (!(p >= 1) || double.IsInfinity(p))
            throw new ArgumentOutOfRangeException(nameof(p), p, "The exponent of ‖x − y‖ᵖ must be finite and at least 1.");
        if (p == 2) return SquaredEuclidean;
        if (p == 1) return Euclidean;
        return new(GroundCostKind.PNorm, null, CoordinateMap.Identity, new DistancePower(p), p);
    }

    /// <summary>
    /// A user-defined cost: its value, gradient and Hessian in x pair by pair and, optionally, a vectorised row
    /// (<see cref="ICostFunction.Row"/>). Solves run on the CPU.
    /// </summary>
    /// <param name="function">The cost.</param>
    /// <returns>The cost.</returns>
    /// <exception cref="ArgumentNullException">function is null.</exception>
    public static GroundCost Custom(ICostFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return new(GroundCostKind.Custom, null, CoordinateMap.Identity, new CostFunctionAdapter(function), double.NaN);
    }

    /// <summary>The family.</summary>
    public GroundCostKind Kind { get; }

    /// <summary>The metric M of a Mahalanobis cost (a copy), or null.</summary>
    public double[,]? Metric => (double[,]?)_metric?.Clone();

    /// <summary>The linear map x ↦ L x under which this cost is the squared Euclidean one.</summary>
    internal CoordinateMap Map { get; }

    /// <summary>‖x − y‖², the default.</summary>
    public static GroundCost SquaredEuclidean { get; } = new(GroundCostKind.SquaredEuclidean, null, CoordinateMap.Identity);

    /// <summary>
    /// (x − y)ᵀ M (x − y): distances in which some directions count more than others (a whitening covariance inverse, a
    /// per-coordinate scale on its diagonal).
    /// </summary>
    /// <param name="metric">M (d×d): finite, symmetric (to 1e-12 of its largest entry) and positive semi-definite (its
    /// eigenvalues ≥ −1e-12 λ_max; those within that of zero are taken as zero).</param>
    /// <returns>The cost.</returns>
    /// <exception cref="ArgumentException">M is empty, not square, not finite, not symmetric or not positive semi-definite.</exception>
    public static GroundCost Mahalanobis(double[,] metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        int d = metric.GetLength(0);
        if (d == 0 || metric.GetLength(1) != d)
            throw new ArgumentException($"The metric must be a non-empty square matrix; it is {metric.GetLength(0)}×{metric.GetLength(1)}.", nameof(metric));
        double scale = 0;
        foreach (var v in metric)
        {
            if (!double.IsFinite(v)) throw new ArgumentException("The metric has a non-finite entry.", nameof(metric));
            scale = Math.Max(scale, Math.Abs(v));
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++)
                if (Math.Abs(metric[i, j] - metric[j, i]) > 1e-12 * scale)
                    throw new ArgumentException($"The metric is not symmetric: M[{i}, {j}] = {metric[i, j]} but M[{j}, {i}] = {metric[j, i]}.", nameof(metric));
        var evd = Matrix<double>.Build.DenseOfArray(metric).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        double largest = values.Max();
        if (!(largest > 0)) throw new ArgumentException("The metric is zero: every pair would cost nothing.", nameof(metric));
        if (values.Min() < -1e-12 * largest)
            throw new ArgumentException($"The metric is not positive semi-definite: its smallest eigenvalue is {values.Min():G4} (largest {largest:G4}).", nameof(metric));
        // M = V Λ Vᵀ = LᵀL with L = Λ^{1/2} Vᵀ.
        var l = new double[d, d];
        for (int r = 0; r < d; r++)
        {
            double root = Math.Sqrt(Math.Max(values[r], 0));
            for (int c = 0; c < d; c++) l[r, c] = root * evd.EigenVectors[c, r];
        }
        return new(GroundCostKind.Mahalanobis, (double[,])metric.Clone(), new CoordinateMap(l));
    }

    /// <summary>
    /// The cost as the command line names it: <c>sqeuclidean</c>, <c>euclidean</c>, <c>pnorm:P</c>, <c>mahalanobis</c>, or
    /// the name of a custom cost's function.
    /// </summary>
    /// <returns>The name.</returns>
    public override string ToString() => Kind switch
    {
        GroundCostKind.SquaredEuclidean => "sqeuclidean",
        GroundCostKind.Mahalanobis => "mahalanobis",
        _ => PairCost!.Name,
    };
}
