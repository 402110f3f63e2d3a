using System.Runtime.CompilerServices;
using OtNative.Core;
using MathNetMatrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;

namespace OtNative;

/// <summary>
/// A solved debiased Sinkhorn divergence S(x) = L_ε(x, y) − ½L_ε(x, x) − ½L_ε(y, y): its solves at one ε, held for its
/// value and every derivative in x, so that a flow step asking for the value and the gradient solves nothing twice. The
/// cross term and the source's self-term are solved at once; the target's self-term, which no x-derivative needs, when
/// <see cref="Value"/> or a convergence flag is first read. Self-terms are solved by the symmetric update. Dispose it to
/// release the plans; afterwards every member throws <see cref="ObjectDisposedException"/>.
/// </summary>
/// <example>
/// <code>
/// using var divergence = EntropicOT.SolveDivergence(x, y, options: new SinkhornOptions { Epsilon = 0.05, EpsilonRelative = true });
/// double value = divergence.Value;
/// double[,] step = divergence.Gradient();
/// </code>
/// </example>
public sealed class DivergenceSolution : IDisposable
{
    private readonly DivergencePlans _plans;

    private readonly CoordinateMap _map;

    internal DivergenceSolution(DivergencePlans plans, CoordinateMap? map = null)
    {
        _plans = plans;
        _map = map ?? CoordinateMap.Identity;
    }

    /// <summary>L_ε(a,b) − ½L_ε(a,a) − ½L_ε(b,b).</summary>
    public double Value => _plans.Value;

    /// <summary>L_ε(a,b), the cross term.</summary>
    public double CrossValue => _plans.Cross.Value;

    /// <summary>L_ε(a,a), the source's self-term.</summary>
    public double SourceSelfValue => _plans.SourceSelf.Value;

    /// <summary>L_ε(b,b), the target's self-term.</summary>
    public double TargetSelfValue => _plans.TargetSelf.Value;

    /// <summary>The absolute ε of every solve (resolved on the cross problem when the options give it relatively).</summary>
    public double Epsilon => _plans.Epsilon;

    /// <summary>The cross solve's iterations.</summary>
    public int CrossIterations => _plans.Cross.Iterations;

    /// <summary>‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the cross plan, measured on it.</summary>
    public double CrossMarginalError => _plans.Cross.MarginalError;

    /// <summary>Whether the cross solve reached the tolerance.</summary>
    public bool CrossConverged => _plans.Cross.Converged;

    /// <summary>Whether both self-term solves reached the tolerance.</summary>
    public bool SelfTermsConverged => _plans.SourceSelf.Converged && _plans.TargetSelf.Converged;

    /// <summary>Whether all three solves reached the tolerance.</summary>
    public bool Converged => _plans.Converged;

    /// <summary>
    /// ∂S/∂x (n×d): the cross term's gradient minus that of the self-term L_ε(a, a), whose two arguments both move with x
    /// (by symmetry, twice its gradient in one argument, halved by the ½), at ε held fixed.
    /// </summary>
    /// <returns>The gradient (n×d), row k for source point k; a new array on each call.</returns>
    public double[,] Gradient() => _map.Gradient(_plans.Gradient()).ToArray2D();

    /// <summary>∂S/∂x (n×d) as a new Math.NET matrix: the numbers of <see cref="Gradient()"/>.</summary>
    /// <returns>The gradient (n×d).</returns>
    public MathNetMatrix GradientMatrix() => Arrays.ToMathNet(_map.Gradient(_plans.Gradient()));

    /// <summary>
    /// ∂S/∂x written row-major into <paramref name="destination"/> (element (k, q) at k·d + q): the numbers of
    /// <see cref="Gradient()"/> with no result array allocated, for a flow loop that reuses one buffer (under a
    /// <see cref="GroundCost.Euclidean"/>, <see cref="GroundCost.PNorm"/> or <see cref="GroundCost.Custom"/> cost it takes
    /// passes over the pairs and allocates).
    /// </summary>
    /// <param name="destination">n·d values, overwritten.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not hold n·d values.</exception>
    public void Gradient(Span<double> destination)
    {
        var (n, d) = SinkhornResult.PointShape(_plans.Cross);
        Arrays.RequireLength(destination.Length, n, d, nameof(destination));
        // G_xy − G_xx straight from the two plans' cached moments into the buffer (no allocation) unless a ground cost maps it back.
        if (_map.IsIdentity)
        {
            Gradients.writeEot(_plans.Cross, destination, 1.0, false);
            Gradients.writeEot(_plans.SourceSelf, destination, -1.0, true);
        }
        else Arrays.CopyTo(_map.Gradient(_plans.Gradient()), destination);
    }

    /// <summary>
    /// ∇²ₓS · A (n×d) without forming any Hessian: the cross term's Hessian-vector product minus the self-term's, whose
    /// mixed part reuses the self-term's own CG solve (the self-transport plan is symmetric). Two CG solves; memory O((n + m)·d²).
    /// </summary>
    /// <param name="direction">The direction A (n×d, the shape of x).</param>
    /// <param name="cg">The CG settings (default <see cref="CgOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The product and the worse of the two CG reports.</returns>
    /// <exception cref="CgConvergenceException">A CG solve stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is not n×d or holds non-finite values.</exception>
    [OverloadResolutionPriority(1)]
    public CgResult HessianVectorProduct(double[,] direction, CgOptions? cg = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        var (n, d) = SinkhornResult.PointShape(_plans.Cross);
        Arrays.RequireShape(direction.GetLength(0), direction.GetLength(1), n, d, nameof(direction));
        var (product, report) = HessianVectorProductCore(Arrays.ToMatrix(direction, nameof(direction)), cg, cancellationToken);
        return new CgResult(product.ToArray2D(), report);
    }

    /// <summary>∇²ₓS · A (n×d) for a direction given as a Math.NET matrix, without forming any Hessian.</summary>
    /// <param name="direction">A (n×d).</param>
    /// <param name="cg">The CG settings (default <see cref="CgOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The product as a new Math.NET matrix and the worse of the two CG reports.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is not n×d or holds non-finite values.</exception>
    /// <exception cref="CgConvergenceException">A CG solve stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public (MathNetMatrix Value, CgReport Cg) HessianVectorProduct(MathNetMatrix direction, CgOptions? cg = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        var (n, d) = SinkhornResult.PointShape(_plans.Cross);
        Arrays.RequireShape(direction.RowCount, direction.ColumnCount, n, d, nameof(direction));
        var (product, report) = HessianVectorProductCore(Arrays.ToMatrix(direction, nameof(direction)), cg, cancellationToken);
        return (Arrays.ToMathNet(product), report);
    }

    /// <summary>
    /// ∇²ₓS · A for a direction given row-major (n·d values), written row-major into <paramref name="destination"/>: the
    /// numbers of <see cref="HessianVectorProduct(double[,], CgOptions, CancellationToken)"/> with no result array allocated.
    /// </summary>
    /// <param name="direction">A, row-major (n·d values).</param>
    /// <param name="destination">n·d values, overwritten; it may not overlap <paramref name="direction"/>.</param>
    /// <param name="cg">The CG settings (default <see cref="CgOptions.Default"/>).</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The worse of the two CG reports.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> or <paramref name="destination"/> does not hold n·d values (the one at fault is named).</exception>
    /// <exception cref="CgConvergenceException">A CG solve stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public CgReport HessianVectorProduct(ReadOnlySpan<double> direction, Span<double> destination, CgOptions? cg = null,
        CancellationToken cancellationToken = default)
    {
        var (n, d) = SinkhornResult.PointShape(_plans.Cross);
        Arrays.RequireLength(destination.Length, n, d, nameof(destination));
        var (product, report) = HessianVectorProductCore(Arrays.ToMatrix(direction, n, d, nameof(direction)), cg, cancellationToken);
        Arrays.CopyTo(product, destination);
        return report;
    }

    private (Matrix Product, CgReport Report) HessianVectorProductCore(Matrix direction, CgOptions? cg, CancellationToken cancellationToken)
    {
        cg ??= CgOptions.Default;
        var (products, report) = _plans.HessianVectorProducts(cg.ToCore(cancellationToken), [_map.Points(direction)]).ToValueTuple();
        return (_map.Gradient(products[0]), cg.Accept(CgReport.Of(report), "divergence Hessian-vector product"));
    }

    /// <summary>
    /// ∇²ₓS ((n·d)×(n·d), index k·d + q): the cross term's Hessian minus the self-term's own and symmetrised mixed Hessians,
    /// all by the truncated eigendecomposition of Li et al. 2024 (Algorithm 1) with the absolute <paramref name="threshold"/>;
    /// the self-term's two from one eigendecomposition.
    /// </summary>
    /// <param name="threshold">Eigenvalues of the H-matrices at or below it are dropped.</param>
    /// <param name="cancellationToken">Checked between stages; an eigendecomposition, once started, runs to its end.</param>
    /// <returns>The dense Hessian ((n·d)×(n·d)), symmetric.</returns>
    /// <exception cref="InsufficientMemoryException">The dense matrices cannot fit; the message says what they need.</exception>
    public double[,] Hessian(double threshold = 1e-10, CancellationToken cancellationToken = default) =>
        _map.Blocks(_plans.Hessian(threshold, cancellationToken)).ToArray2D();

    /// <inheritdoc />
    public void Dispose() => ((IDisposable)_plans).Dispose();
}
