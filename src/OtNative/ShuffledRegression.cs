using OtNative.Applications;
using OtNative.Core;

namespace OtNative;

/// <summary>
/// Shuffled regression: fit Y ≈ X θ when the rows of Y are in unknown order (and possibly of a different count),
/// by minimising L_ε(Xθ, Y) with SGD → relaxed Newton (Algorithm 2), and the gradient-descent baseline.
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
    /// <exception cref="ArgumentException">Bad shapes or settings, or a rank-deficient X (singular Newton system).</exception>
    public static RegressionComparison Compare(double[,] x, double[,] y, double[,] theta0, double[,]? thetaStar = null, RegressionOptions? options = null) =>
        Applications.ShuffledRegression.compare(Problem(x, y, thetaStar), Arrays.ToMatrix(theta0, nameof(theta0)), (options ?? new RegressionOptions()).ToCore());

    /// <summary>
    /// <see cref="Compare(double[,], double[,], double[,], double[,], RegressionOptions)"/> for a constrained map θ = map(φ), e.g.
    /// <see cref="Applications.ParameterMapModule.rotationScale"/> (φ = log s and a rotation vector) for registration.
    /// </summary>
    public static RegressionComparison Compare(double[,] x, double[,] y, ParameterMap map, double[] phi0, double[,]? thetaStar = null, RegressionOptions? options = null) =>
        Applications.ShuffledRegression.compareWith(map, Problem(x, y, thetaStar), phi0, (options ?? new RegressionOptions()).ToCore());

    /// <summary>SGD stage then relaxed Newton only; returns the Newton fit (its history excludes the SGD steps).</summary>
    public static RegressionFit FitNewton(double[,] x, double[,] y, double[,] theta0, double[,]? thetaStar = null, RegressionOptions? options = null)
    {
        var o = (options ?? new RegressionOptions()).ToCore();
        var problem = Problem(x, y, thetaStar);
        var (thetaSgd, _) = Applications.ShuffledRegression.stochasticStage(problem, Arrays.ToMatrix(theta0, nameof(theta0)), o);
        return Applications.ShuffledRegression.relaxedNewton(problem, thetaSgd, o);
    }

    private static ShuffledRegressionProblem Problem(double[,] x, double[,] y, double[,]? thetaStar) =>
        new(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), null, null,
            thetaStar is null ? null : Microsoft.FSharp.Core.FSharpOption<Matrix>.Some(Matrix.OfArray2D(thetaStar)));
}
