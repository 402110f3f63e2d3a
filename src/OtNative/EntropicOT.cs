using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Microsoft.FSharp.Core;
using OtNative.Core;
using MathNetMatrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;
using MathNetVector = MathNet.Numerics.LinearAlgebra.Vector<double>;

namespace OtNative;

/// <summary>The three values of a debiased Sinkhorn divergence and their solves' diagnostics.</summary>
/// <param name="Value">L_ε(a,b) − ½ L_ε(a,a) − ½ L_ε(b,b).</param>
/// <param name="CrossValue">L_ε(a,b).</param>
/// <param name="SourceSelfValue">L_ε(a,a).</param>
/// <param name="TargetSelfValue">L_ε(b,b).</param>
/// <param name="Epsilon">The absolute ε used by all three solves.</param>
/// <param name="Converged">Whether all three solves reached the tolerance.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record DivergenceResult(double Value, double CrossValue, double SourceSelfValue, double TargetSelfValue, double Epsilon, bool Converged);

/// <summary>
/// Entry points for entropic optimal transport between weighted point clouds (squared Euclidean cost, no ½) or under a
/// given cost matrix. Invalid input throws <see cref="ArgumentException"/> naming the parameter; numerical failures throw
/// an <see cref="OtNativeException"/>; a cancelled token throws <see cref="OperationCanceledException"/>.
/// </summary>
/// <remarks>
/// The solver is Sinkhorn's matrix scaling (M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport",
/// NeurIPS 2013) in the log domain. The derivatives — the gradient, the sharp distance's gradient, the Hessian and its
/// regularised pseudo-inverse of the H-matrix — follow X. Li, F. Lu, M. Tao and F. X.-F. Ye, "Robust first and
/// second-order differentiation for regularized optimal transport", arXiv:2407.02015 (Li et al. 2024 in these docs):
/// its Theorem 1, Proposition 2, Theorem 3 and Algorithm 1.
/// <para>Inputs come in three forms, each with the same parameter list:
/// <list type="bullet">
/// <item><description><c>double[,]</c> points (one per row) or costs with <c>double[]</c> weights, null for uniform — every entry point;</description></item>
/// <item><description>Math.NET <c>Matrix&lt;double&gt;</c> with <c>Vector&lt;double&gt;</c> weights, null for uniform —
/// <see cref="Solve(MathNetMatrix, MathNetMatrix, MathNetVector, MathNetVector, SinkhornOptions, CancellationToken)"/>,
/// <c>SolveCost</c>, <c>SolveDivergence</c>, <c>Divergence</c> and <c>DivergenceGradient</c>; a Math.NET overload returns a
/// Math.NET matrix where its <c>double[,]</c> twin returns <c>double[,]</c>;</description></item>
/// <item><description>row-major <c>ReadOnlySpan&lt;double&gt;</c> points with their dimension and span weights, empty for
/// uniform — <c>Solve</c> and <c>SolveDivergence</c>.</description></item>
/// </list>
/// The solved <see cref="SinkhornResult"/> and <see cref="DivergenceSolution"/> answer in the same forms: <c>Gradient()</c>
/// (<c>double[,]</c>), <c>GradientMatrix()</c> (Math.NET) and <c>Gradient(Span&lt;double&gt;)</c> (row-major into your
/// buffer), and likewise Hessian-vector products. A call whose cloud is the literal <c>null</c> binds the <c>double[,]</c>
/// overload (and throws <see cref="ArgumentNullException"/> naming it).</para>
/// </remarks>
/// <example>
/// <code>
/// using var result = EntropicOT.Solve(x, y, new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = true });
/// double loss = result.Value;
/// double[,] grad = result.Gradient();
/// </code>
/// </example>
public static class EntropicOT
{
    /// <summary>
    /// Solves entropic OT between two point clouds with uniform weights: L_ε = min ⟨P, C⟩ + ε KL(P ‖ a⊗b) over the plans P
    /// with marginals a = 1/n and b = 1/m, under the cost C_ij = ‖x_i − y_j‖² (no ½).
    /// </summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <example>
    /// <code>
    /// double[,] x = { { 0.0, 0.0 }, { 1.0, 0.0 }, { 0.0, 1.0 } };
    /// double[,] y = { { 0.5, 0.5 }, { 1.5, 0.5 } };
    /// using SinkhornResult result = EntropicOT.Solve(x, y);   // ε = 0.05 × mean cost
    /// double value = result.Value;                            // L_ε
    /// double[,] gradient = result.Gradient();                 // ∂L_ε/∂x, 3×2
    /// Console.WriteLine($"L = {value} at ε = {result.Epsilon} after {result.Iterations} iterations");
    /// </code>
    /// </example>
    /// <exception cref="ArgumentException">Non-finite values, mismatched dimensions, empty clouds, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    /// <exception cref="NumericalFailureException">The potentials became non-finite.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    [OverloadResolutionPriority(1)]
    public static SinkhornResult Solve(double[,] x, double[,] y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        Solve(x, y, null, null, options, cancellationToken);

    /// <summary>Solves entropic OT between two weighted point clouds (weights positive, summing to one; null = uniform).</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one, or any positive weights with
    /// <see cref="SinkhornOptions.RenormalizeWeights"/>), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite values, bad weights, mismatched dimensions, empty clouds, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    /// <exception cref="NumericalFailureException">The potentials became non-finite.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    [OverloadResolutionPriority(1)]
    public static SinkhornResult Solve(double[,] x, double[,] y, double[]? a, double[]? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Run(Points(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b), options), options, cancellationToken);

    /// <summary>Solves entropic OT between point clouds given row-major with <paramref name="dimension"/> coordinates per point (uniform weights).</summary>
    /// <param name="x">Source points, row-major: point i is x[i·d … i·d + d − 1] (length n·d, finite).</param>
    /// <param name="y">Target points, row-major (length m·d, finite).</param>
    /// <param name="dimension">The number of coordinates per point d (at least 1; divides both lengths).</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <exception cref="ArgumentException">A length that d does not divide, non-finite values, empty clouds, ε ≤ 0 or tolerance ≤ 0.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    public static SinkhornResult Solve(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int dimension, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Solve(x, y, dimension, default, default, options, cancellationToken);

    /// <summary>
    /// Solves entropic OT between weighted point clouds given row-major with <paramref name="dimension"/> coordinates per
    /// point (point k's coordinates at k·d … k·d + d − 1), with span weights.
    /// </summary>
    /// <param name="x">Source points, row-major (n·d values).</param>
    /// <param name="y">Target points, row-major (m·d values).</param>
    /// <param name="dimension">The coordinates per point, d ≥ 1.</param>
    /// <param name="a">Source weights (n), positive and summing to one, or an empty span for uniform.</param>
    /// <param name="b">Target weights (m), or an empty span for uniform.</param>
    /// <param name="options">The solve's options (null: <see cref="SinkhornOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    /// <exception cref="ArgumentException">A span that is not a whole number of points, non-finite values, bad weights,
    /// mismatched dimensions, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is below 1.</exception>
    public static SinkhornResult Solve(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int dimension, ReadOnlySpan<double> a, ReadOnlySpan<double> b,
        SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        Run(Points(Arrays.ToMatrix(x, dimension, nameof(x)), Arrays.ToMatrix(y, dimension, nameof(y)), Arrays.Weights(a), Arrays.Weights(b), options),
            options, cancellationToken);

    /// <summary>Solves entropic OT between point clouds given as Math.NET matrices (one point per row, uniform weights).</summary>
    /// <param name="x">Source points (n×d, finite); copied, not kept.</param>
    /// <param name="y">Target points (m×d, finite); copied, not kept.</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite values, mismatched dimensions, empty clouds, ε ≤ 0 or tolerance ≤ 0.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    public static SinkhornResult Solve(MathNetMatrix x, MathNetMatrix y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        Solve(x, y, null, null, options, cancellationToken);

    /// <summary>Solves entropic OT between two weighted point clouds given as Math.NET matrices (one point per row) and vectors.</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), positive and summing to one, or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solve's options (null: <see cref="SinkhornOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite values, bad weights, mismatched dimensions, empty clouds, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    /// <exception cref="NumericalFailureException">The potentials became non-finite.</exception>
    public static SinkhornResult Solve(MathNetMatrix x, MathNetMatrix y, MathNetVector? a, MathNetVector? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Run(Points(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Weights(a), Arrays.Weights(b), options), options, cancellationToken);

    /// <summary>Solves entropic OT under a given n×m cost matrix with uniform weights.</summary>
    /// <param name="cost">The cost matrix C (n×m, finite; any values, not only squared distances). The result's derivatives
    /// with respect to points (gradients, Hessians) need point clouds; the cost gradients do not.</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite or empty costs, ε ≤ 0 or tolerance ≤ 0.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    [OverloadResolutionPriority(1)]
    public static SinkhornResult SolveCost(double[,] cost, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveCost(cost, null, null, options, cancellationToken);

    /// <summary>Solves entropic OT under a given n×m cost matrix (any finite costs) with weights a, b (null = uniform).</summary>
    /// <param name="cost">The cost matrix C (n×m, finite; any values, not only squared distances). The result's derivatives
    /// with respect to points (gradients, Hessians) need point clouds; the cost gradients do not.</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solver's settings, or null for <see cref="SinkhornOptions.Default"/> (ε = 0.05 × mean cost,
    /// tolerance 1e-6, convergence required).</param>
    /// <param name="cancellationToken">Checked during the solve; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The solved problem (value, potentials, diagnostics, derivatives on demand); it holds the plan on its backend, so dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite or empty costs, bad weights, ε ≤ 0 or tolerance ≤ 0.</exception>
    /// <exception cref="SinkhornConvergenceException">The solve stopped at its iteration cap above the tolerance and
    /// <see cref="SinkhornOptions.AllowUnconverged"/> is not set.</exception>
    [OverloadResolutionPriority(1)]
    public static SinkhornResult SolveCost(double[,] cost, double[]? a, double[]? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Run(Relaxed(OfCost(Arrays.ToMatrix(cost, nameof(cost)), Arrays.Option(a), Arrays.Option(b), options), options), options, cancellationToken);

    /// <summary>Solves entropic OT under a given n×m cost matrix, a Math.NET matrix, with uniform weights.</summary>
    /// <param name="cost">The costs (n×m), any finite values.</param>
    /// <param name="options">The solve's options (null: <see cref="SinkhornOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    public static SinkhornResult SolveCost(MathNetMatrix cost, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveCost(cost, null, null, options, cancellationToken);

    /// <summary>Solves entropic OT under a given n×m cost matrix, a Math.NET matrix, with weights a, b (null = uniform).</summary>
    /// <param name="cost">The costs (n×m), any finite values.</param>
    /// <param name="a">Source weights (n), positive and summing to one, or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solve's options (null: <see cref="SinkhornOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite costs, bad weights, ε ≤ 0 or tolerance ≤ 0; the parameter is named.</exception>
    public static SinkhornResult SolveCost(MathNetMatrix cost, MathNetVector? a, MathNetVector? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Run(Relaxed(OfCost(Arrays.ToMatrix(cost, nameof(cost)), Arrays.Weights(a), Arrays.Weights(b), options), options), options, cancellationToken);

    /// <summary>
    /// Solves the self-transport problem L_ε(a, a) of one weighted cloud (the debiased divergence's self-terms) by the
    /// symmetric update f ← ½(f + softmin(f)): one pass an iteration instead of the alternating update's two. Its potentials
    /// are equal (<see cref="SinkhornResult.F"/> = <see cref="SinkhornResult.G"/>); everything else is as <see cref="Solve(double[,], double[,], double[], double[], SinkhornOptions, CancellationToken)"/>.
    /// </summary>
    /// <param name="x">The points (n×d).</param>
    /// <param name="a">Their weights (n), or null for uniform.</param>
    /// <param name="options">The solve's options.</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite values, bad weights, an empty cloud, ε ≤ 0, tolerance ≤ 0, or TauA ≠ TauB (named TauB).</exception>
    /// <exception cref="NotSupportedException">A custom cost that is not symmetric.</exception>
    [OverloadResolutionPriority(1)]
    public static SinkhornResult SolveSelf(double[,] x, double[]? a = null, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveSelfCore(Arrays.ToMatrix(x, nameof(x)), Arrays.Option(a), options, cancellationToken);

    /// <summary>
    /// <see cref="SolveSelf(double[,], double[], SinkhornOptions, CancellationToken)"/> for a cloud given as a Math.NET matrix
    /// (one point per row) with Math.NET weights.
    /// </summary>
    /// <param name="x">The points (n×d).</param>
    /// <param name="a">Their weights (n), or null for uniform.</param>
    /// <param name="options">The solve's options.</param>
    /// <param name="cancellationToken">Checked inside the solve.</param>
    /// <returns>The solved plan; dispose it.</returns>
    /// <exception cref="ArgumentException">Non-finite values, bad weights, an empty cloud, ε ≤ 0, tolerance ≤ 0, or TauA ≠ TauB (named TauB).</exception>
    /// <exception cref="NotSupportedException">A custom cost that is not symmetric.</exception>
    public static SinkhornResult SolveSelf(MathNetMatrix x, MathNetVector? a = null, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveSelfCore(Arrays.ToMatrix(x, nameof(x)), Arrays.Weights(a), options, cancellationToken);

    private static SinkhornResult SolveSelfCore(Matrix points, FSharpOption<double[]>? a, SinkhornOptions? options, CancellationToken cancellationToken)
    {
        options ??= SinkhornOptions.Default;
        // Named here, where the caller can see it (the core's symmetric solve says only that its problem is not a self-transport).
        if (!options.TauA.Equals(options.TauB))
            throw new ArgumentException(
                $"A self-transport relaxes both sides alike: TauA and TauB must be equal, got TauA = {options.TauA}, TauB = {options.TauB}.",
                nameof(SinkhornOptions.TauB));
        if (options.Cost?.PairCost is { Symmetric: false } cost)
            throw new NotSupportedException($"A self-transport needs a symmetric cost (c(x, y) = c(y, x)); the cost {cost.Name} does not say it is (ICostFunction.IsSymmetric).");
        var problem = Points(points, points, a, a, options);
        var (backend, note) = Backends.Resolve(options.Backend, problem, options.VectorWidth);
        Fallbacks.Log(options.Logger, backend, note);
        return new SinkhornResult(Sinkhorn.solveSymmetric(backend, problem, options.ToCore(cancellationToken)), note, MapOf(options));
    }

    /// <summary>
    /// Solves the debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b) of two point clouds (weights null =
    /// uniform) at one ε and returns it with its derivatives in x: value, gradient, Hessian-vector products and the dense
    /// Hessian from one set of solves. Dispose the result.
    /// </summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solves' options (a relative ε is resolved on the cross problem and used by all three).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The solves, held for the value and every derivative; dispose it to release the plans.</returns>
    [OverloadResolutionPriority(1)]
    public static DivergenceSolution SolveDivergence(double[,] x, double[,] y, double[]? a = null, double[]? b = null, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default) =>
        SolveDivergenceCore(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b), options, cancellationToken);

    /// <summary>
    /// <see cref="SolveDivergence(double[,], double[,], double[], double[], SinkhornOptions, CancellationToken)"/> for clouds
    /// given as Math.NET matrices (one point per row) and weights as Math.NET vectors.
    /// </summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solves' options (a relative ε is resolved on the cross problem and used by all three).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The solved divergence; dispose it.</returns>
    public static DivergenceSolution SolveDivergence(MathNetMatrix x, MathNetMatrix y, MathNetVector? a = null, MathNetVector? b = null,
        SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveDivergenceCore(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Weights(a), Arrays.Weights(b), options, cancellationToken);

    /// <summary>
    /// <see cref="SolveDivergence(double[,], double[,], double[], double[], SinkhornOptions, CancellationToken)"/> for clouds
    /// given row-major with <paramref name="dimension"/> coordinates per point and span weights: with
    /// <see cref="DivergenceSolution.Gradient(Span{double})"/>, a flow that keeps its points in one flat buffer.
    /// </summary>
    /// <param name="x">Source points, row-major (n·d values).</param>
    /// <param name="y">Target points, row-major (m·d values).</param>
    /// <param name="dimension">The coordinates per point, d ≥ 1.</param>
    /// <param name="a">Source weights (n), or an empty span (the default) for uniform.</param>
    /// <param name="b">Target weights (m), or an empty span (the default) for uniform.</param>
    /// <param name="options">The solves' options (a relative ε is resolved on the cross problem and used by all three).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The solved divergence; dispose it.</returns>
    /// <exception cref="ArgumentException">A span that is not a whole number of points, non-finite values or bad weights; the parameter is named.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is below 1.</exception>
    public static DivergenceSolution SolveDivergence(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int dimension,
        ReadOnlySpan<double> a = default, ReadOnlySpan<double> b = default, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        SolveDivergenceCore(Arrays.ToMatrix(x, dimension, nameof(x)), Arrays.ToMatrix(y, dimension, nameof(y)), Arrays.Weights(a), Arrays.Weights(b),
            options, cancellationToken);

    private static DivergenceSolution SolveDivergenceCore(Matrix x, Matrix y, FSharpOption<double[]>? a, FSharpOption<double[]>? b,
        SinkhornOptions? options, CancellationToken cancellationToken)
    {
        options ??= SinkhornOptions.Default;
        var problem = Points(x, y, a, b, options);
        var (backend, note) = Backends.Resolve(options.Backend, problem, options.VectorWidth);
        Fallbacks.Log(options.Logger, backend, note);
        return new DivergenceSolution(DivergencePlans.Solve(backend, problem, options.ToCore(cancellationToken)), MapOf(options));
    }

    /// <summary>The debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b) with uniform weights (three solves at one ε).</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The divergence, its three terms, the ε used and whether every solve converged.</returns>
    [OverloadResolutionPriority(1)]
    public static DivergenceResult Divergence(double[,] x, double[,] y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        Divergence(x, y, null, null, options, cancellationToken);

    /// <summary>The debiased Sinkhorn divergence L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b) (three solves at one ε).</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The divergence, its three terms, the ε used and whether every solve converged.</returns>
    [OverloadResolutionPriority(1)]
    public static DivergenceResult Divergence(double[,] x, double[,] y, double[]? a, double[]? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return Summary(d);
    }

    /// <summary>The debiased Sinkhorn divergence of clouds given as Math.NET matrices, with uniform weights (three solves at one ε).</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="options">The solves' options.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The divergence and its three terms.</returns>
    public static DivergenceResult Divergence(MathNetMatrix x, MathNetMatrix y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        Divergence(x, y, null, null, options, cancellationToken);

    /// <summary>The debiased Sinkhorn divergence of clouds given as Math.NET matrices, weights as vectors (null = uniform).</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solves' options.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The divergence and its three terms.</returns>
    public static DivergenceResult Divergence(MathNetMatrix x, MathNetMatrix y, MathNetVector? a, MathNetVector? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return Summary(d);
    }

    private static DivergenceResult Summary(DivergenceSolution d) =>
        new(d.Value, d.CrossValue, d.SourceSelfValue, d.TargetSelfValue, d.Epsilon, d.Converged);

    /// <summary>
    /// ∂/∂x (n×d) of the debiased divergence with uniform weights: the cross term's gradient minus that of the self-term
    /// L_ε(a, a), whose two arguments both move with x (by symmetry, twice its gradient in one argument, halved by the ½).
    /// Two solves; the self-term by the symmetric update. <see cref="SolveDivergence(double[,], double[,], double[], double[], SinkhornOptions, CancellationToken)"/> gives the value and the gradient
    /// from the same solves.
    /// </summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>∂S/∂x (n×d), at ε held fixed.</returns>
    [OverloadResolutionPriority(1)]
    public static double[,] DivergenceGradient(double[,] x, double[,] y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        DivergenceGradient(x, y, null, null, options, cancellationToken);

    /// <summary>∂/∂x (n×d) of the debiased divergence with weights a, b (null = uniform).</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>∂S/∂x (n×d), at ε held fixed.</returns>
    [OverloadResolutionPriority(1)]
    public static double[,] DivergenceGradient(double[,] x, double[,] y, double[]? a, double[]? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return d.Gradient();
    }

    /// <summary>∂/∂x (n×d) of the debiased divergence of clouds given as Math.NET matrices, uniform weights, as a Math.NET matrix.</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="options">The solves' options.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The gradient (n×d).</returns>
    public static MathNetMatrix DivergenceGradient(MathNetMatrix x, MathNetMatrix y, SinkhornOptions? options = null, CancellationToken cancellationToken = default) =>
        DivergenceGradient(x, y, null, null, options, cancellationToken);

    /// <summary>∂/∂x (n×d) of the debiased divergence of clouds given as Math.NET matrices, weights as vectors (null = uniform), as a Math.NET matrix.</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="options">The solves' options.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The gradient (n×d).</returns>
    public static MathNetMatrix DivergenceGradient(MathNetMatrix x, MathNetMatrix y, MathNetVector? a, MathNetVector? b, SinkhornOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return d.GradientMatrix();
    }

    /// <summary>
    /// ∇²ₓ ((n·d)×(n·d), index k·d + q) of the debiased divergence with uniform weights: the cross term's Hessian minus the
    /// self-term's, whose two arguments both move with x (its Hessian in one argument plus the symmetrised mixed block), all
    /// by the truncated eigendecomposition of Li et al. 2024 (Algorithm 1) with the absolute threshold.
    /// </summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="threshold">Eigenvalues of the H-matrices at or below this absolute value are dropped from their
    /// pseudo-inverses (default 1e-10).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The dense Hessian ((n·d)×(n·d)), symmetric.</returns>
    /// <exception cref="InsufficientMemoryException">The dense matrices cannot fit; the message says what they need.</exception>
    [OverloadResolutionPriority(1)]
    public static double[,] DivergenceHessian(double[,] x, double[,] y, SinkhornOptions? options = null, double threshold = 1e-10,
        CancellationToken cancellationToken = default) =>
        DivergenceHessian(x, y, null, null, options, threshold, cancellationToken);

    /// <summary>∇²ₓ ((n·d)×(n·d)) of the debiased divergence with weights a, b (null = uniform).</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="threshold">Eigenvalues of the H-matrices at or below this absolute value are dropped from their
    /// pseudo-inverses (default 1e-10).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The dense Hessian ((n·d)×(n·d), index k·d + q), symmetric.</returns>
    /// <exception cref="InsufficientMemoryException">The dense matrices cannot fit; the message says what they need.</exception>
    [OverloadResolutionPriority(1)]
    public static double[,] DivergenceHessian(double[,] x, double[,] y, double[]? a, double[]? b, SinkhornOptions? options = null,
        double threshold = 1e-10, CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return d.Hessian(threshold, cancellationToken);
    }

    /// <summary>
    /// <see cref="DivergenceHessian(double[,], double[,], double[], double[], SinkhornOptions, double, CancellationToken)"/> for
    /// clouds given as Math.NET matrices (one point per row) with Math.NET weights; the Hessian as a Math.NET matrix.
    /// </summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>.</param>
    /// <param name="threshold">Eigenvalues of the H-matrices at or below this absolute value are dropped from their
    /// pseudo-inverses (default 1e-10).</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The dense Hessian ((n·d)×(n·d), index k·d + q), symmetric.</returns>
    /// <exception cref="InsufficientMemoryException">The dense matrices cannot fit; the message says what they need.</exception>
    public static MathNetMatrix DivergenceHessian(MathNetMatrix x, MathNetMatrix y, MathNetVector? a = null, MathNetVector? b = null,
        SinkhornOptions? options = null, double threshold = 1e-10, CancellationToken cancellationToken = default)
    {
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return MathNetMatrix.Build.DenseOfArray(d.Hessian(threshold, cancellationToken));
    }

    /// <summary>
    /// ∇²ₓS · A (n×d) of the debiased divergence without forming any Hessian: the cross term's Hessian-vector product
    /// minus the self-term's, whose mixed part reuses the self-term's own CG solve (the self-transport plan is symmetric).
    /// Two solves and two CG solves; memory O((n + m)·d²). <see cref="SolveDivergence(double[,], double[,], double[], double[], SinkhornOptions, CancellationToken)"/> keeps the solves for several products.
    /// </summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <param name="direction">The direction A (n×d, the shape of <paramref name="x"/>); checked before anything is solved.</param>
    /// <param name="options">The solves' settings, or null for <see cref="SinkhornOptions.Default"/>; a relative ε is resolved on
    /// the cross problem and used by all the solves.</param>
    /// <param name="cg">The conjugate-gradient settings, or null for <see cref="CgOptions.Default"/>.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>The product ∇²ₓS · A (n×d) and the worse of the two CG reports.</returns>
    /// <exception cref="CgConvergenceException">A CG solve stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public static CgResult DivergenceHessianVectorProduct(double[,] x, double[,] y, double[]? a, double[]? b, double[,] direction,
        SinkhornOptions? options = null, CgOptions? cg = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        ArgumentNullException.ThrowIfNull(x);
        // Checked before the solves: a wrong direction must not cost them.
        if (direction.GetLength(0) != x.GetLength(0) || direction.GetLength(1) != x.GetLength(1))
            throw new ArgumentException($"direction is {direction.GetLength(0)}×{direction.GetLength(1)} but x is {x.GetLength(0)}×{x.GetLength(1)}: it needs x's shape.", nameof(direction));
        using var d = SolveDivergence(x, y, a, b, options, cancellationToken);
        return d.HessianVectorProduct(direction, cg, cancellationToken);
    }

    /// <summary>The weighted mean cost Σ a_i b_j ‖x_i − y_j‖², the unit of a relative ε.</summary>
    /// <param name="x">Source points, one per row (n×d, finite).</param>
    /// <param name="y">Target points, one per row (m×d, the same d as <paramref name="x"/>, finite).</param>
    /// <param name="a">Source weights (length n, positive, summing to one), or null for uniform weights 1/n.</param>
    /// <param name="b">Target weights (length m, positive, summing to one), or null for uniform weights 1/m.</param>
    /// <returns>The mean cost, in squared units of the coordinates; computed in O((n + m)·d) without forming the costs.</returns>
    public static double MeanCost(double[,] x, double[,] y, double[]? a = null, double[]? b = null) =>
        OtProblemModule.meanCost(OtProblemModule.create(Arrays.ToMatrix(x, nameof(x)), Arrays.ToMatrix(y, nameof(y)), Arrays.Option(a), Arrays.Option(b)));

    /// <summary>
    /// Solves many independent problems (sizes may differ, uniform weights) on all cores, one problem per worker, each
    /// prepared once, and returns per problem its values and, as asked, the gradient, the dense Hessian (Schur fast path)
    /// and a Hessian-vector product along <paramref name="hvpDirections"/>[i] (CG settings <paramref name="cg"/>, its report
    /// in the item). Results are in the problems' order; progress reports carry the problem's index and arrive from the
    /// worker threads, several at once (an <see cref="IProgress{T}"/> that updates a UI must marshal them). Problems with
    /// weights, and outcomes kept per problem instead of one exception: <see cref="TrySolveBatch"/>. With
    /// <see cref="ComputeBackend.Mpi"/> the problems are spread across the ranks (<c>MpiSession.SolveBatch</c> of the OtNative.Mpi package): rank 0
    /// receives every item, the other ranks an empty array. On CUDA, plain Sinkhorn updates (no initialiser, annealing
    /// or L-BFGS) run in lockstep: one kernel launch per half-step for the whole batch, each problem's iterations and
    /// answer those of its own solve.
    /// </summary>
    /// <param name="problems">The problems as (x, y) pairs of point clouds (n_i×d_i and m_i×d_i, one point per row).</param>
    /// <param name="options">The options of every solve, or null for <see cref="SinkhornOptions.Default"/>.</param>
    /// <param name="gradients">Whether each item carries ∂L_ε/∂x (n×d). Default true.</param>
    /// <param name="hessians">Whether each item carries the dense Hessian ((n·d)×(n·d), Schur fast path). Default false.</param>
    /// <param name="hvpDirections">One direction A_i (the shape of problem i's x) per problem for a Hessian-vector product, or null for none.</param>
    /// <param name="cg">The CG settings of those products, or null for <see cref="CgOptions.Default"/>.</param>
    /// <param name="sharpValues">Whether each item carries the sharp distance ⟨P, C⟩ (one more streamed pass each). Default false.</param>
    /// <param name="cancellationToken">Checked inside every solve.</param>
    /// <returns>One item per problem, in the problems' order (on an MPI rank other than 0, an empty array).</returns>
    /// <exception cref="ArgumentException">A problem's input is invalid; the parameter named says which problem (<c>problems[3].X</c>).</exception>
    /// <exception cref="BatchProblemException">A problem failed numerically; <see cref="BatchProblemException.ProblemIndex"/> says which.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    [OverloadResolutionPriority(1)]
    public static BatchItem[] SolveBatch(IReadOnlyList<(double[,] X, double[,] Y)> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null, CgOptions? cg = null,
        bool sharpValues = false, CancellationToken cancellationToken = default)
    {
        options ??= SinkhornOptions.Default;
        if (options.Backend == ComputeBackend.Mpi)
            return MpiRegistration.Required.SolveBatch(problems, options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);
        ArgumentNullException.ThrowIfNull(problems);
        var backend = BatchBackend(options);
        return Items(TryBatch((core, opts, request) => Batch.attempt(backend, core, opts, request), AsBatchProblems(problems), options, gradients, hessians,
            hvpDirections, cg, sharpValues, cancellationToken, stopOnInvalid: true));
    }

    /// <summary>
    /// <see cref="SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/>
    /// for clouds given as Math.NET matrices (one point per row); the items as there.
    /// </summary>
    /// <param name="problems">The problems, each a source and a target cloud (uniform weights).</param>
    /// <param name="options">The options of every solve.</param>
    /// <param name="gradients">Whether each item carries ∂L_ε/∂x.</param>
    /// <param name="hessians">Whether each item carries the dense Hessian.</param>
    /// <param name="hvpDirections">One direction per problem (n×d) whose Hessian-vector product each item carries, or null.</param>
    /// <param name="cg">The CG settings of those products, or null for the defaults.</param>
    /// <param name="sharpValues">Whether each item carries the sharp distance ⟨P, C⟩.</param>
    /// <param name="cancellationToken">Checked inside the solves.</param>
    /// <returns>One item per problem, in order.</returns>
    /// <exception cref="BatchProblemException">A problem failed; its index and the reason are in the exception.</exception>
    public static BatchItem[] SolveBatch(IReadOnlyList<(MathNetMatrix X, MathNetMatrix Y)> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null, CgOptions? cg = null,
        bool sharpValues = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return SolveBatch(problems.Select((p, i) => (
                (p.X ?? throw new ArgumentNullException($"problems[{i}].X")).ToArray(),
                (p.Y ?? throw new ArgumentNullException($"problems[{i}].Y")).ToArray())).ToArray(),
            options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);
    }

    /// <summary>Pairs of clouds as problems with uniform weights.</summary>
    internal static BatchProblem[] AsBatchProblems(IReadOnlyList<(double[,] X, double[,] Y)> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Select(p => new BatchProblem(p.X, p.Y)).ToArray();
    }

    /// <summary>
    /// <see cref="SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/> that never throws for one problem: each outcome carries the problem's results or why it
    /// failed (invalid input, a numerical failure, a CG solve above its tolerance), so one bad problem does not cost the
    /// others. Problems may carry weights (<see cref="BatchProblem"/>). Cancellation still throws.
    /// </summary>
    /// <param name="problems">The problems; each one's clouds and optional weights.</param>
    /// <param name="options">The options of every solve, or null for <see cref="SinkhornOptions.Default"/>.</param>
    /// <param name="gradients">Whether each item carries ∂L_ε/∂x (n×d). Default true.</param>
    /// <param name="hessians">Whether each item carries the dense Hessian ((n·d)×(n·d), Schur fast path). Default false.</param>
    /// <param name="hvpDirections">One direction A_i (the shape of problem i's x) per problem for a Hessian-vector product, or null for none.</param>
    /// <param name="cg">The CG settings of those products, or null for <see cref="CgOptions.Default"/>.</param>
    /// <param name="sharpValues">Whether each item carries the sharp distance ⟨P, C⟩ (one more streamed pass each).</param>
    /// <param name="cancellationToken">Checked inside every solve. Progress reports (<see cref="SinkhornOptions.Progress"/>)
    /// arrive from the worker threads, several at once; each carries its problem's index.</param>
    /// <returns>One outcome per problem, in the problems' order.</returns>
    /// <exception cref="ArgumentException"><paramref name="hvpDirections"/> does not hold one direction per problem.</exception>
    public static BatchOutcome[] TrySolveBatch(IReadOnlyList<BatchProblem> problems, SinkhornOptions? options = null,
        bool gradients = true, bool hessians = false, IReadOnlyList<double[,]>? hvpDirections = null, CgOptions? cg = null,
        bool sharpValues = false, CancellationToken cancellationToken = default)
    {
        options ??= SinkhornOptions.Default;
        if (options.Backend == ComputeBackend.Mpi)
            return MpiRegistration.Required.TrySolveBatch(problems, options, gradients, hessians, hvpDirections, cg, sharpValues, cancellationToken);
        var backend = BatchBackend(options);
        return TryBatch((core, opts, request) => Batch.attempt(backend, core, opts, request), problems, options, gradients, hessians,
            hvpDirections, cg, sharpValues, cancellationToken);
    }

    /// <summary>
    /// A batch's inputs checked and converted one problem at a time (an invalid one is that problem's outcome), the valid
    /// ones run by <paramref name="attempt"/> (on this process, or across MPI ranks: an empty result on ranks other than 0),
    /// and each item's CG report held to <paramref name="cg"/>'s rule. With <paramref name="stopOnInvalid"/> the first
    /// invalid problem's <see cref="ArgumentException"/> is thrown before any is solved (<see cref="SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/>).
    /// </summary>
    internal static BatchOutcome[] TryBatch(Func<OtProblem[], Core.SinkhornOptions, BatchRequest, Microsoft.FSharp.Core.FSharpResult<Core.BatchItem, Exception>[]> attempt,
        IReadOnlyList<BatchProblem> problems, SinkhornOptions options, bool gradients, bool hessians,
        IReadOnlyList<double[,]>? hvpDirections, CgOptions? cg, bool sharpValues, CancellationToken cancellationToken, bool stopOnInvalid = false)
    {
        cg ??= CgOptions.Default;
        ArgumentNullException.ThrowIfNull(problems);
        if (hvpDirections is not null && hvpDirections.Count != problems.Count)
            throw new ArgumentException($"{hvpDirections.Count} HVP directions for {problems.Count} problems: give one per problem.", nameof(hvpDirections));
        var outcomes = new BatchOutcome?[problems.Count];
        var valid = new List<(int Index, OtProblem Problem, Matrix? Direction)>();
        var map = MapOf(options);
        for (int i = 0; i < problems.Count; i++)
        {
            try
            {
                var p = problems[i] ?? throw new ArgumentNullException($"problems[{i}]");
                var name = p.Name ?? $"problems[{i}]";
                var core = Relaxed(Mapped(OtProblemModule.createNamed($"{name}.X", $"{name}.Y",
                    Arrays.ToMatrix(p.X, $"{name}.X"), Arrays.ToMatrix(p.Y, $"{name}.Y"),
                    Arrays.Option(p.A), Arrays.Option(p.B), options.RenormalizeWeights), options), options);
                valid.Add((i, core, hvpDirections is null ? null : map.Points(Arrays.ToMatrix(hvpDirections[i], $"hvpDirections[{i}]"))));
            }
            catch (ArgumentException e) when (!stopOnInvalid)
            {
                outcomes[i] = new BatchOutcome(i, null, e);
            }
        }
        var request = new BatchRequest(gradients, hessians,
            hvpDirections is null ? null : Microsoft.FSharp.Core.FSharpOption<Matrix[]>.Some(valid.Select(v => v.Direction!).ToArray()),
            cg.ToCore(cancellationToken), sharpValues);
        var results = attempt(valid.Select(v => v.Problem).ToArray(), options.ToCore(cancellationToken), request);
        if (results.Length == 0 && valid.Count > 0) return [];   // an MPI rank other than 0
        for (int k = 0; k < valid.Count; k++)
        {
            var i = valid[k].Index;
            outcomes[i] = results[k].IsOk ? Accepted(i, BatchItem.Of(i, results[k].ResultValue, map), cg) : new BatchOutcome(i, null, results[k].ErrorValue);
        }
        return outcomes.Select(o => o!).ToArray();
    }

    /// <summary>An item whose CG report meets <paramref name="cg"/>'s rule, or the CG failure as its outcome.</summary>
    private static BatchOutcome Accepted(int index, BatchItem item, CgOptions cg)
    {
        if (item.HessianVectorProductCg is { } report)
        {
            try { cg.Accept(report, $"Hessian-vector product of problem {index}"); }
            catch (CgConvergenceException e) { return new BatchOutcome(index, null, e); }
        }
        return new BatchOutcome(index, item, null);
    }

    /// <summary>The items of a batch's outcomes, or <see cref="BatchProblemException"/> naming the first failed problem.</summary>
    internal static BatchItem[] Items(BatchOutcome[] outcomes) =>
        outcomes.Select(o => o.Error is null ? o.Item! : throw new BatchProblemException(o.Index, o.Error)).ToArray();

    /// <summary>
    /// About how many bytes <see cref="SinkhornResult.Hessian"/> needs at its peak for <paramref name="n"/> source and
    /// <paramref name="m"/> target points in <paramref name="d"/> dimensions: the plan, the factorised matrix, its vectors and
    /// the eigensolver's workspace, the products, and the Hessian with a copy. The Hessian refuses to start
    /// (<see cref="InsufficientMemoryException"/>) when this exceeds the memory the process may still use.
    /// </summary>
    /// <param name="n">Source points.</param>
    /// <param name="m">Target points.</param>
    /// <param name="d">Dimension.</param>
    /// <param name="method">The method the Hessian would be computed by (the Schur path factorises a smaller matrix).</param>
    /// <returns>Bytes.</returns>
    public static double DenseHessianBytes(int n, int m, int d, HessianMethod method = HessianMethod.Eigen)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(m);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(d);
        return Core.Hessian.memoryNeeded(n, m, d, CoreEnums.ToCore(method)).Item1;
    }

    /// <summary>
    /// Refuses, before anything is solved or allocated, a dense result that cannot fit in the memory this process may still
    /// use: checks what <see cref="SinkhornResult.Hessian"/>, <see cref="DivergenceSolution.Hessian"/> or
    /// <see cref="SinkhornResult.Spectrum"/> would need for these sizes, as each of them checks when it starts. Call it before
    /// a long solve whose dense result would be refused at the end.
    /// </summary>
    /// <param name="result">Which dense result.</param>
    /// <param name="n">Source points.</param>
    /// <param name="m">Target points.</param>
    /// <param name="d">Dimension.</param>
    /// <param name="method">The method of a <see cref="DenseResult.Hessian"/> (the Schur path factorises a smaller matrix).</param>
    /// <exception cref="InsufficientMemoryException">It would not fit; the message says what it needs, what is available
    /// and the matrix-free alternative.</exception>
    public static void RequireMemory(DenseResult result, int n, int m, int d, HessianMethod method = HessianMethod.Eigen)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(m);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(d);
        switch (result)
        {
            case DenseResult.Hessian: Core.Hessian.requireMemory(n, m, d, CoreEnums.ToCore(method)); break;
            case DenseResult.DivergenceHessian: Core.DivergencePlans.RequireHessianMemory(n, m, d); break;
            case DenseResult.Spectrum: Core.HMatrix.requireMemory(n, m); break;
            default: throw new ArgumentOutOfRangeException(nameof(result), result, "Not a DenseResult.");
        }
    }

    private static OtProblem Points(Matrix x, Matrix y, FSharpOption<double[]>? a, FSharpOption<double[]>? b, SinkhornOptions? options) =>
        Relaxed(Mapped(OtProblemModule.createWith(x, y, a, b, options?.RenormalizeWeights ?? false), options), options);

    /// <summary>A cost-matrix problem; a ground cost other than the default is refused (the matrix is its own cost).</summary>
    private static OtProblem OfCost(Matrix cost, FSharpOption<double[]>? a, FSharpOption<double[]>? b, SinkhornOptions? options) =>
        MapOf(options).IsIdentity && options?.Cost?.PairCost is null
            ? OtProblemModule.ofCost(cost, a, b)
            : throw new ArgumentException("A ground cost (SinkhornOptions.Cost) applies to point clouds; a cost matrix is its own cost.", nameof(SinkhornOptions.Cost));

    /// <summary>
    /// The backend a batch runs on, logged: the one the options choose, except that under a ground cost the CUDA kernels do
    /// not evaluate (<see cref="GroundCost.Euclidean"/>, <see cref="GroundCost.PNorm"/>, <see cref="GroundCost.Custom"/>)
    /// <see cref="ComputeBackend.Auto"/> takes the CPU, as a single solve does.
    /// </summary>
    private static IBackend BatchBackend(SinkhornOptions options)
    {
        if (options.Backend == ComputeBackend.Auto && options.Cost?.PairCost is { } cost)
        {
            var cpu = Backends.Resolve(ComputeBackend.Cpu, options.VectorWidth);
            Fallbacks.Log(options.Logger, cpu, $"the {cost.Name} cost runs on the CPU: the CUDA kernels evaluate the squared Euclidean cost only");
            return cpu;
        }
        var backend = Backends.Resolve(options.Backend, options.VectorWidth);
        Fallbacks.Log(options.Logger, backend, null);
        return backend;
    }

    /// <summary>The map of the options' ground cost (<see cref="SinkhornOptions.Cost"/>).</summary>
    internal static CoordinateMap MapOf(SinkhornOptions? options) => (options?.Cost ?? GroundCost.SquaredEuclidean).Map;

    /// <summary>
    /// A checked point-cloud problem moved to the coordinates in which the options' ground cost is the squared Euclidean one
    /// (the weights as resolved); the problem itself for the squared Euclidean cost.
    /// </summary>
    internal static OtProblem Mapped(OtProblem problem, SinkhornOptions? options)
    {
        if (options?.Cost?.PairCost is { } pairCost) return OtProblemModule.withCost(pairCost, problem);
        var map = MapOf(options);
        if (map.IsIdentity) return problem;
        map.RequireDimension(problem.X.Cols, nameof(SinkhornOptions.Cost));
        return OtProblemModule.create(map.Points(problem.X), map.Points(problem.Y), FSharpOption<double[]>.Some(problem.A), FSharpOption<double[]>.Some(problem.B));
    }

    /// <summary>The problem with the options' marginal relaxation (<see cref="SinkhornOptions.TauA"/>, <see cref="SinkhornOptions.TauB"/>).</summary>
    internal static OtProblem Relaxed(OtProblem problem, SinkhornOptions? options) =>
        options is null || (double.IsPositiveInfinity(options.TauA) && double.IsPositiveInfinity(options.TauB))
            ? problem
            : OtProblemModule.relaxed(options.TauA, options.TauB, problem);

    private static SinkhornResult Run(OtProblem problem, SinkhornOptions? options, CancellationToken cancellationToken)
    {
        options ??= SinkhornOptions.Default;
        var (backend, note) = Backends.Resolve(options.Backend, problem, options.VectorWidth);
        Fallbacks.Log(options.Logger, backend, note);
        return new SinkhornResult(Sinkhorn.solve(backend, problem, options.ToCore(cancellationToken)), note, MapOf(options));
    }
}
