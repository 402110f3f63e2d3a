using System.Runtime.CompilerServices;
using OtNative.Core;
using MathNetMatrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;

namespace OtNative;

/// <summary>
/// The Hessian of entropic OT as an operator (Li et al. 2024, Theorem 3, applied matrix-free: one CG solve on the Schur
/// complement of the H-matrix per product): Hessian-vector products, parameter Hessians and the
/// sharp-distance gradients, all without forming the Hessian or storing the plan. Its plan's marginals and moments are
/// computed once, by the <see cref="SinkhornResult"/> it came from; each product costs a few streamed passes per CG
/// iteration. Every result carries its CG report; a CG that stopped above its tolerance throws
/// <see cref="CgConvergenceException"/> unless <see cref="CgOptions.AllowUnconverged"/> is set.
/// </summary>
public sealed class HessianOperator
{
    private readonly SolvedPlan _plan;
    private readonly CoordinateMap _map;

    internal HessianOperator(SolvedPlan plan, CgOptions cg, CoordinateMap map)
    {
        _plan = plan;
        _map = map;
        Options = cg;
    }

    /// <summary>The CG settings.</summary>
    public CgOptions Options { get; }

    private Core.HessianOperator Operator(CancellationToken cancellation) => new(_plan, Options.ToCore(cancellation));

    /// <summary>∇²ₓL_ε · A for a direction A (n×d).</summary>
    /// <param name="direction">The direction A (n×d, the shape of x).</param>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The product (n×d) and its CG report.</returns>
    /// <exception cref="CgConvergenceException">CG stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is not n×d or holds non-finite values.</exception>
    [OverloadResolutionPriority(1)]
    public CgResult Apply(double[,] direction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        var (n, d) = SinkhornResult.PointShape(_plan);
        Arrays.RequireShape(direction.GetLength(0), direction.GetLength(1), n, d, nameof(direction));
        var (product, report) = ApplyCore(Arrays.ToMatrix(direction, nameof(direction)), cancellationToken);
        return new CgResult(product.ToArray2D(), report);
    }

    /// <summary>∇²ₓL_ε · A for a direction A (n×d) given as a Math.NET matrix.</summary>
    /// <param name="direction">A (n×d).</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The product (n×d) as a new Math.NET matrix, and the CG report.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is not n×d or holds non-finite values.</exception>
    /// <exception cref="CgConvergenceException">CG stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public (MathNetMatrix Value, CgReport Cg) Apply(MathNetMatrix direction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        var (n, d) = SinkhornResult.PointShape(_plan);
        Arrays.RequireShape(direction.RowCount, direction.ColumnCount, n, d, nameof(direction));
        var (product, report) = ApplyCore(Arrays.ToMatrix(direction, nameof(direction)), cancellationToken);
        return (Arrays.ToMathNet(product), report);
    }

    /// <summary>
    /// ∇²ₓL_ε · A for a direction A given row-major (n·d values), written row-major into <paramref name="destination"/>:
    /// the numbers of <see cref="Apply(double[,], CancellationToken)"/> with no result array allocated.
    /// </summary>
    /// <param name="direction">A, row-major (n·d values).</param>
    /// <param name="destination">n·d values, overwritten; it may not overlap <paramref name="direction"/>.</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The CG report.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> or <paramref name="destination"/> does not hold n·d values (the one at fault is named).</exception>
    /// <exception cref="CgConvergenceException">CG stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public CgReport Apply(ReadOnlySpan<double> direction, Span<double> destination, CancellationToken cancellationToken = default)
    {
        var (n, d) = SinkhornResult.PointShape(_plan);
        Arrays.RequireLength(destination.Length, n, d, nameof(destination));
        var (product, report) = ApplyCore(Arrays.ToMatrix(direction, n, d, nameof(direction)), cancellationToken);
        Arrays.CopyTo(product, destination);
        return report;
    }

    private (Matrix Product, CgReport Report) ApplyCore(Matrix direction, CancellationToken cancellationToken)
    {
        var (product, report) = Operator(cancellationToken).Apply(_map.Points(direction)).ToValueTuple();
        return (_map.Gradient(product), Options.Accept(CgReport.Of(report), "Hessian-vector product"));
    }

    /// <summary>Several Hessian-vector products at about the cost of one: every streamed pass carries all directions. The report is the worst column's.</summary>
    /// <param name="directions">The directions (each n×d, the shape of x).</param>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The products in the directions' order, and the worst column's CG report.</returns>
    /// <exception cref="CgConvergenceException">A column's CG stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    [OverloadResolutionPriority(1)]
    public (IReadOnlyList<double[,]> Products, CgReport Cg) ApplyMany(IReadOnlyList<double[,]> directions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directions);
        var (products, report) = Operator(cancellationToken)
            .ApplyMany(directions.Select((d, i) => _map.Points(Arrays.ToMatrix(d, $"directions[{i}]"))).ToArray()).ToValueTuple();
        return (products.Select(p => _map.Gradient(p).ToArray2D()).ToArray(), Options.Accept(CgReport.Of(report), "Hessian-vector products"));
    }

    /// <summary>
    /// <see cref="ApplyMany(IReadOnlyList{double[,]}, CancellationToken)"/> for directions given as Math.NET matrices; the
    /// products as Math.NET matrices.
    /// </summary>
    /// <param name="directions">The directions (each n×d, the shape of x).</param>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The products in the directions' order, and the worst column's CG report.</returns>
    /// <exception cref="CgConvergenceException">A column's CG stopped above its tolerance and <see cref="CgOptions.AllowUnconverged"/> is not set.</exception>
    public (IReadOnlyList<MathNetMatrix> Products, CgReport Cg) ApplyMany(IReadOnlyList<MathNetMatrix> directions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directions);
        var (products, report) = ApplyMany(directions.Select((d, i) => (d ?? throw new ArgumentNullException($"directions[{i}]")).ToArray()).ToArray(), cancellationToken);
        return (products.Select(p => MathNetMatrix.Build.DenseOfArray(p)).ToArray(), report);
    }

    /// <summary>∇²_θ L for the linear model x = Xθ (design X: n×p), dense or matrix-free, whichever is cheaper.</summary>
    /// <param name="design">The design matrix X (n×p) with which the solved x equals X θ.</param>
    /// <param name="cancellationToken">Checked between the stages and the CG iterations.</param>
    /// <returns>The parameter Hessian ((p·d)×(p·d), index p'·d + q), how it was formed and, on the matrix-free path, the worst CG report.</returns>
    public ParameterHessianResult ParameterHessian(double[,] design, CancellationToken cancellationToken = default)
    {
        var r = Core.ParameterHessian.compute(_plan, Arrays.ToMatrix(design, nameof(design)), Options.ToCore(cancellationToken));
        return new ParameterHessianResult(_map.Blocks(r.Hessian).ToArray2D(),
            r.Path.IsFromDenseHessian ? ParameterHessianPath.FromDenseHessian : ParameterHessianPath.FromHessianVectorProducts,
            r.Cg is null ? null : Options.Accept(CgReport.Of(r.Cg.Value), "parameter Hessian"));
    }

    /// <summary>∂S_ε/∂x (n×d) of the sharp Sinkhorn distance S_ε = ⟨P, C⟩ (Li et al. 2024, Proposition 2), one CG solve.</summary>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The gradient (n×d) and its CG report.</returns>
    public CgResult SharpGradient(CancellationToken cancellationToken = default)
    {
        var (gradient, report) = Operator(cancellationToken).SharpGradient().ToValueTuple();
        return new CgResult(_map.Gradient(gradient).ToArray2D(), Options.Accept(CgReport.Of(report), "sharp gradient"));
    }

    /// <summary>∂S_ε/∂C (n×m) of the sharp Sinkhorn distance with respect to the cost matrix, one CG solve.</summary>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The gradient (n×m) and its CG report.</returns>
    public CgResult SharpCostGradient(CancellationToken cancellationToken = default)
    {
        var (gradient, report) = Operator(cancellationToken).SharpCostGradient().ToValueTuple();
        return new CgResult(gradient.ToArray2D(), Options.Accept(CgReport.Of(report), "sharp cost gradient"));
    }
}
