using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>
/// How the dense Hessian forms the pseudo-inverse of the H-matrix [diag(P1), P; Pᵀ, diag(Pᵀ1)], which is singular (its
/// null vector is (1, −1)) and ill-conditioned at small ε. Written to JSON by name.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<HessianMethod>))]
public enum HessianMethod
{
    /// <summary>Truncated eigen-decomposition of the (n+m)×(n+m) H-matrix (Li et al. 2024, Algorithm 1).</summary>
    Eigen,
    /// <summary>The fast path: eliminate the larger block and truncate the min(n, m)-sized Schur complement. Same result, far cheaper.</summary>
    Schur,
    /// <summary>Every eigenvalue inverted, tiny or negative ones included (for comparison only).</summary>
    NoRegularisation,
}

/// <summary>How the pseudo-inverse was actually applied. Written to JSON by name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<HessianFactorisation>))]
public enum HessianFactorisation
{
    /// <summary>Eigen-decomposition with eigenvalues ≤ τ dropped.</summary>
    TruncatedEigen,
    /// <summary>Eigen-decomposition with every eigenvalue inverted (<see cref="HessianMethod.NoRegularisation"/>).</summary>
    FullEigen,
    /// <summary>Schur path where a Cholesky factorisation proved every non-null eigenvalue exceeds τ: only the null vector is dropped.</summary>
    CertifiedCholesky,
}

/// <summary>A dense Hessian ∇²ₓL_ε and how it was regularised.</summary>
/// <param name="Matrix">(n·d)×(n·d), row and column index k·d + q.</param>
/// <param name="Method">The method asked for.</param>
/// <param name="Kept">Eigenvalues kept by the truncation.</param>
/// <param name="Dropped">Eigenvalues dropped (at least the null one, unless nothing is truncated).</param>
/// <param name="SmallestKept">The smallest kept eigenvalue (of H or the Schur complement); an upper estimate on the certified-Cholesky path.</param>
/// <param name="Factorisation">How the pseudo-inverse was applied.</param>
/// <param name="Threshold">The absolute threshold τ applied.</param>
/// <param name="RowSumError">The accuracy measure of Li et al. 2024 (their eq. 59), ‖Σ_l Hess[k,:,l,:] − 2 a_k I‖_F over all k
/// with the input weights a: at the optimum the row sums are exactly 2 a_k I, so this says how far the Hessian's row sums
/// are from what the marginal constraint implies — a property of the Hessian, not the plan's marginal error
/// (<see cref="SinkhornResult.MarginalError"/>). NaN for unbalanced transport (SinkhornOptions.TauA, TauB) and for a ground cost
/// other than the squared Euclidean and Mahalanobis ones (<see cref="GroundCost.Euclidean"/>, <see cref="GroundCost.PNorm"/>,
/// <see cref="GroundCost.Custom"/>), whose plans change when every source point moves alike, so the identity behind it does not hold.</param>
/// <param name="Elapsed">Wall time of the Hessian alone.</param>
/// <remarks>It serialises with <see cref="System.Text.Json.JsonSerializer"/> and reads back with the same numbers (<see cref="Array2DJsonConverter"/>).</remarks>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record HessianResult([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Matrix, HessianMethod Method, int Kept, int Dropped, double SmallestKept,
    HessianFactorisation Factorisation, double Threshold, double RowSumError, TimeSpan Elapsed)
{
    /// <summary>The former name of <see cref="RowSumError"/>, which is not the plan's marginal error.</summary>
    [JsonIgnore]
    [Obsolete("Renamed RowSumError: it is the Hessian's row-sum measure (eq. 59), not the plan's marginal error.")]
    public double MarginalError => RowSumError;
}

/// <summary>
/// The spectrum of the H-matrix [diag(P1), P; Pᵀ, diag(Pᵀ1)] of a plan: positive semi-definite, with a simple zero
/// eigenvalue for a positive plan; its smallest positive eigenvalue shrinks with ε and bounds the Hessian's conditioning.
/// </summary>
/// <param name="Eigenvalues">All eigenvalues, ascending.</param>
/// <param name="SmallestPositive">λ_{n+m−1}, the second smallest (the smallest is the simple zero).</param>
/// <param name="ConditionNumber">λ_max / λ_{n+m−1}.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record SpectrumResult(IReadOnlyList<double> Eigenvalues, double SmallestPositive, double ConditionNumber);

/// <summary>How a parameter Hessian was formed. Written to JSON by name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ParameterHessianPath>))]
public enum ParameterHessianPath
{
    /// <summary>From the dense Hessian (Schur path).</summary>
    FromDenseHessian,
    /// <summary>From p·d Hessian-vector products; nothing n×m stored.</summary>
    FromHessianVectorProducts,
}

/// <summary>∇²_θ L for a linear model x = Xθ.</summary>
/// <param name="Matrix">(p·d)×(p·d), index p'·d + q.</param>
/// <param name="Path">Dense or matrix-free.</param>
/// <param name="Cg">The worst CG report on the matrix-free path; null on the dense path.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ParameterHessianResult([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Matrix, ParameterHessianPath Path, CgReport? Cg);
