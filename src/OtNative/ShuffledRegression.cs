using OtNative.Core;

namespace OtNative;

/// <summary>
/// Shuffled regression: fit Y ≈ X θ when the rows of Y are in unknown order (and possibly of a different count),
/// by minimising L_ε(Xθ, Y) with SGD → relaxed Newton (Li et al. 2024, Algorithm 2), and the gradient-descent baseline.
/// Point-cloud registration is the same problem with X the source cloud and θ a d×d linear map.
/// </summary>
public static class ShuffledRegression
{
    /// <summary>
    /// Runs the SGD stage once from <paramref name="theta0"/>, then relaxed Newton and gradient descent from where
    /// it ended, and returns all three histories. <paramref name="thetaStar"/>, when known, adds the parameter error.
    /// </summary>
    /// <param name="x">Design X (n×p).</param>
    /// <param name="y">Targets Y (m×d), any order.</param>
    /// <param name="theta0">Start θ₀ (p×d).</param>
    /// <param name="thetaStar">The true θ* (p×d), or null.</param>
    /// <param name="options">Settings; null = <see cref="RegressionOptions"/> defaults.</param>
    /// <param name="cancellationToken">Checked before every evaluation and inside each solve.</param>
    /// <returns>The SGD stage's iterations and where it ended, and the Newton and gradient-descent fits from there.</returns>
    /// <exception cref="ArgumentException">Bad shapes or settings, or a rank-deficient X (singular Newton system).</exception>
    public static RegressionComparison Compare(double[,] x, double[,] y, double[,] theta0, double[,]? thetaStar = null, RegressionOptions? options = null,
        CancellationToken cancellationToken = default) =>
        RegressionComparison.Of(Applications.ShuffledRegression.compare(Problem(x, y, thetaStar), Arrays.ToMatrix(theta0, nameof(theta0)),
            (options ?? new RegressionOptions()).ToCore(cancellationToken)));

    /// <summary>
    /// <see cref="Compare(double[,], double[,], double[,], double[,], RegressionOptions, CancellationToken)"/> for a constrained
    /// map θ = map(φ), e.g. <see cref="ParameterMap.RotationScale"/> for registration.
    /// </summary>
    /// <param name="x">Design X (n×p); for registration, the source cloud.</param>
    /// <param name="y">Targets Y (m×d), any order.</param>
    /// <param name="map">How the parameters φ give θ (p×d).</param>
    /// <param name="phi0">The start φ₀ (length <see cref="ParameterMap.Size"/>).</param>
    /// <param name="thetaStar">The true θ* (p×d), or null when unknown (the parameter errors are then NaN).</param>
    /// <param name="options">Settings; null = <see cref="RegressionOptions"/> defaults.</param>
    /// <param name="cancellationToken">Checked before every evaluation and inside each solve.</param>
    /// <returns>The SGD stage's iterations and where it ended, and the Newton and gradient-descent fits from there.</returns>
    /// <exception cref="ArgumentException">Bad shapes or settings, or φ₀ of the wrong length.</exception>
    public static RegressionComparison Compare(double[,] x, double[,] y, ParameterMap map, double[] phi0, double[,]? thetaStar = null,
        RegressionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(phi0);
        return RegressionComparison.Of(Applications.ShuffledRegression.compareWith(map.Core, Problem(x, y, thetaStar), phi0,
            (options ?? new RegressionOptions()).ToCore(cancellationToken)));
    }

    /// <summary>SGD stage then relaxed Newton only; returns the Newton fit (its history excludes the SGD steps).</summary>
    /// <param name="x">Design X (n×p).</param>
    /// <param name="y">Targets Y (m×d), any order.</param>
    /// <param name="theta0">Start θ₀ (p×d).</param>
    /// <param name="thetaStar">The true θ* (p×d), or null when unknown (the parameter errors are then NaN).</param>
    /// <param name="options">Settings; null = <see cref="RegressionOptions"/> defaults.</param>
    /// <param name="cancellationToken">Checked before every evaluation and inside each solve.</param>
    /// <returns>The Newton fit: θ at the end, its iterations, final loss and why it stopped.</returns>
    /// <exception cref="ArgumentException">Bad shapes or settings, or a rank-deficient X (singular Newton system).</exception>
    public static RegressionFit FitNewton(double[,] x, double[,] y, double[,] theta0, double[,]? thetaStar = null, RegressionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var o = (options ?? new RegressionOptions()).ToCore(cancellationToken);
        var problem = Problem(x, y, thetaStar);
        var (thetaSgd, _) = Applications.ShuffledRegression.stochasticStage(problem, Arrays.ToMatrix(theta0, nameof(theta0)), o);
        return RegressionFit.Of(Applications.ShuffledRegression.relaxedNewton(problem, thetaSgd, o));
    }

    private static Applications.ShuffledRegressionProblem Problem(double[,] x, double[,] y, double[,]? thetaStar) =>
        new(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), null, null, Arrays.Option(thetaStar, nameof(thetaStar)));
}
