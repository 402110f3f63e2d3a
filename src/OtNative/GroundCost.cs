using MathNet.Numerics.LinearAlgebra;

namespace OtNative;

/// <summary>
/// The cost c(x, y) of moving a unit of mass from source point x to target point y. The default is the squared Euclidean
/// distance ‖x − y‖². A Mahalanobis cost (x − y)ᵀ M (x − y) with M = LᵀL is the squared Euclidean cost between the mapped
/// points L x and L y, so it runs on the same streamed kernels; every derivative in x (gradient, Hessian, Hessian-vector
/// products, parameter Hessians, the sharp gradient) is mapped back: ∇ₓ = Lᵀ ∇, ∇²ₓ = (I ⊗ Lᵀ) ∇² (I ⊗ L). Values, potentials
/// and the plan are those of the cost itself. Costs apply to point clouds; a cost matrix is its own cost.
/// </summary>
public sealed class GroundCost
{
    private readonly double[,]? _metric;

    private GroundCost(GroundCostKind kind, double[,]? metric, CoordinateMap map)
    {
        Kind = kind;
        _metric = metric;
        Map = map;
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

    /// <summary>The cost as the command line names it: <c>sqeuclidean</c> or <c>mahalanobis</c>.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Kind == GroundCostKind.SquaredEuclidean ? "sqeuclidean" : "mahalanobis";
}
