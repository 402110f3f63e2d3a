using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using OtNative.Core;
using MathNetMatrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;

namespace OtNative;

/// <summary>
/// A solved entropic OT problem: values, potentials, diagnostics, and derivatives on demand. It holds the solved plan
/// on its backend, where the plan's marginals and moments are computed once and shared by every derivative; dispose it
/// to release backend memory. After <see cref="Dispose"/> the values stay readable (<see cref="SharpValue"/> if it was
/// read before) and every derivative throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class SinkhornResult : IDisposable
{
    private readonly SolvedPlan _plan;
    private readonly Core.SinkhornSolution _result;
    private readonly Lazy<double> _sharp;
    private readonly CoordinateMap _map;
    private bool _disposed;

    internal SinkhornResult(SolvedPlan plan, string? backendNote = null, CoordinateMap? map = null)
    {
        _plan = plan;
        _map = map ?? CoordinateMap.Identity;
        _result = plan.Solution;
        Backend = plan.Backend.Name;
        BackendNote = backendNote;
        F = Array.AsReadOnly((double[])_result.F.Clone());
        G = Array.AsReadOnly((double[])_result.G.Clone());
        _sharp = new Lazy<double>(() => Values.sharp(_plan));
    }

    /// <summary>Entropic OT value L_ε (the dual objective ⟨a,f⟩ + ⟨b,g⟩; equal to L_ε at convergence, a lower bound before).</summary>
    public double Value => _result.Value;

    /// <summary>The sharp Sinkhorn distance ⟨P, C⟩ of the computed plan (one extra pass, computed on first use).</summary>
    /// <exception cref="ObjectDisposedException">It is first read after <see cref="Dispose"/> (it needs the plan).</exception>
    public double SharpValue => _disposed && !_sharp.IsValueCreated
        ? throw new ObjectDisposedException(nameof(SinkhornResult), "The sharp value is computed from the plan on first use: read SharpValue before disposing the result.")
        : _sharp.Value;

    /// <summary>The primal value ⟨P,C⟩ + ε KL(P‖a⊗b) of the computed plan; equals <see cref="Value"/> at convergence.</summary>
    /// <returns>The primal value, one streamed pass over the plan (computed on each call).</returns>
    public double PrimalValue() => Values.primal(_plan);

    /// <summary>
    /// The plan's total mass ΣP: 1 for balanced transport; for unbalanced transport (<see cref="SinkhornOptions.TauA"/>,
    /// <see cref="SinkhornOptions.TauB"/>) the mass actually moved, below 1 when the penalties leave some behind.
    /// </summary>
    public double TransportedMass => Values.transportedMass(_plan);

    /// <summary>The absolute ε used.</summary>
    public double Epsilon => _result.Epsilon;

    /// <summary>Sinkhorn iterations run.</summary>
    public int Iterations => _result.Iterations;

    /// <summary>‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the returned plan, measured on it (the column term is zero to rounding after the final g-update).</summary>
    public double MarginalError => _result.MarginalError;

    /// <summary>Streamed passes over the n×m pairs the solve used, the cost unit every solver and initialiser shares.</summary>
    public int Passes => _result.Passes;

    /// <summary>
    /// The Sinkhorn iteration after which L-BFGS took over (<see cref="SinkhornSolver.SinkhornThenLbfgs"/> on a stalled
    /// solve; <see cref="Iterations"/> counts both phases), or null when no switch happened.
    /// </summary>
    public int? SwitchedToLbfgsAt => _result.SwitchedToLbfgsAt is { } at ? at.Value : null;

    /// <summary>
    /// The iterations whose exponentials were float32 (<see cref="SinkhornPrecision.Mixed"/>); the others, the last one
    /// included, were float64. 0 for a float64 solve.
    /// </summary>
    public int MixedIterations => _result.MixedIterations;

    /// <summary>Whether the tolerance was reached.</summary>
    public bool Converged => _result.Converged;

    /// <summary>Wall time of the solve.</summary>
    public TimeSpan Elapsed => _result.Elapsed;

    /// <summary>The backend that solved it (<c>cpu</c>, <c>cuda</c>).</summary>
    public string Backend { get; }

    /// <summary>Why an automatic backend choice fell back to the CPU, or null when it did not.</summary>
    public string? BackendNote { get; }

    /// <summary>The dense linear algebra provider the derivatives run on: <c>native (liblapacke…)</c>, or <c>managed (Math.NET)</c> — the slower fallback.</summary>
    public string LinearAlgebra => _plan.LinearAlgebra.Name;

    /// <summary>Source potential f (length n; one copy, made when the solve finished).</summary>
    public IReadOnlyList<double> F { get; }

    /// <summary>Target potential g (length m).</summary>
    public IReadOnlyList<double> G { get; }

    /// <summary>Number of source points n.</summary>
    public int N => _plan.Problem.N;

    /// <summary>Number of target points m.</summary>
    public int M => _plan.Problem.M;

    /// <summary>
    /// ∂L_ε/∂x (n×d): G_k = Σ_j P_kj · 2(x_k − y_j) = 2(r_k x_k − (P y)_k) with the plan's own row mass r = P1 (Li et al.
    /// 2024, Theorem 1), so it is the exact gradient of the computed plan even before convergence. ε is held fixed: with the
    /// default relative ε (<see cref="SinkhornOptions.EpsilonRelative"/>) it is not the derivative of x ↦ Solve(x, y).Value
    /// with ε recomputed from each x's mean cost — a gradient flow that wants that pair solves with the resolved
    /// <see cref="Epsilon"/> as an absolute ε.
    /// </summary>
    /// <returns>The gradient (n×d), row k for source point k.</returns>
    /// <exception cref="NotSupportedException">The problem was given as a cost matrix.</exception>
    public double[,] Gradient() => XGradient().ToArray2D();

    /// <summary>∂L_ε/∂x (n×d) as a new Math.NET matrix: the numbers of <see cref="Gradient()"/>.</summary>
    /// <returns>The gradient (n×d).</returns>
    /// <exception cref="NotSupportedException">The problem was given as a cost matrix.</exception>
    public MathNetMatrix GradientMatrix() => Arrays.ToMathNet(XGradient());

    /// <summary>
    /// ∂L_ε/∂x written row-major into <paramref name="destination"/> (element (k, q) at k·d + q): the numbers of
    /// <see cref="Gradient()"/> with no result array allocated, for a loop that reuses one buffer (from the plan's cached
    /// moments; under a <see cref="GroundCost.Euclidean"/>, <see cref="GroundCost.PNorm"/> or <see cref="GroundCost.Custom"/>
    /// cost it takes a pass over the pairs and allocates its result first).
    /// </summary>
    /// <param name="destination">n·d values, overwritten.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not hold n·d values.</exception>
    /// <exception cref="NotSupportedException">The problem was given as a cost matrix.</exception>
    public void Gradient(Span<double> destination)
    {
        var (n, d) = PointShape(_plan);
        Arrays.RequireLength(destination.Length, n, d, nameof(destination));
        // Straight from the plan's cached moments into the buffer (no allocation) unless a ground cost maps it back.
        if (_map.IsIdentity) Gradients.writeEot(_plan, destination, 1.0, false);
        else Arrays.CopyTo(XGradient(), destination);
    }

    /// <summary>∂L_ε/∂x in the caller's coordinates (mapped back from the ground cost's, <see cref="SinkhornOptions.Cost"/>).</summary>
    private Matrix XGradient() => _map.Gradient(Gradients.eot(_plan));

    /// <summary>The number of points n and their dimension d; a cost-matrix problem has none (<see cref="NotSupportedException"/>).</summary>
    internal static (int N, int D) PointShape(SolvedPlan plan)
    {
        var x = plan.Problem.X;
        return (x.Rows, x.Cols);
    }

    /// <summary>∂L_ε/∂θ (p×d) for the linear model x = X θ, given the design matrix X (n×p): Xᵀ times the gradient in x.</summary>
    /// <param name="design">The design matrix X (n×p) with which the solved x equals X θ.</param>
    /// <returns>∂L_ε/∂θ (p×d).</returns>
    public double[,] GradientLinearModel(double[,] design) =>
        Gradients.linearModel(Arrays.ToMatrix(design, nameof(design)), XGradient()).ToArray2D();

    /// <summary>The transport plan P (n×m), materialised.</summary>
    /// <returns>P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), n×m doubles (a new array on each call).</returns>
    public double[,] Plan() => _plan.Materialise().ToArray2D();

    /// <summary>The transport plan P (n×m), materialised as a Math.NET matrix.</summary>
    /// <returns>P (n×m).</returns>
    public MathNetMatrix PlanMatrix() => Arrays.ToMathNet(_plan.Materialise());

    /// <summary>∂L_ε/∂C, which is the plan P (n×m).</summary>
    /// <returns>The plan P (n×m), a new array on each call.</returns>
    public double[,] CostGradient() => Plan();

    /// <summary>
    /// The dense Hessian ∇²ₓL_ε ((n·d)×(n·d), index k·d + q) by Li et al. 2024's Theorem 3 with the pseudo-inverse of the
    /// H-matrix formed by its Algorithm 1 (<see cref="HessianMethod.Eigen"/>), by the Schur fast path, or without
    /// regularisation; eigenvalues ≤ <paramref name="threshold"/> (absolute, or × λ_max when <paramref name="relative"/>)
    /// are dropped. Runs on the backend's dense linear algebra.
    /// </summary>
    /// <param name="method">The truncated eigendecomposition of H (Algorithm 1 of Li et al. 2024, default), the Schur fast
    /// path, or no regularisation.</param>
    /// <param name="threshold">Eigenvalues at or below it are dropped (absolute, or relative to λ_max).</param>
    /// <param name="relative">Whether <paramref name="threshold"/> is relative to the largest eigenvalue.</param>
    /// <param name="cancellationToken">
    /// Checked between the stages (the plan, the R blocks, the factorisation, the products, the block diagonal). One stage
    /// cannot be interrupted once started: the factorisation (LAPACK's dsyevd or dpotrf, or Math.NET's) runs to its end,
    /// about (n + m)³ flops for <see cref="HessianMethod.Eigen"/> and at most min(n, m)³ for the Schur path; the token is
    /// seen right after it.
    /// </param>
    /// <returns>The Hessian with how it was regularised (eigenvalues kept and dropped, the factorisation, the row-sum error).</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="InsufficientMemoryException">The dense matrices cannot fit; the message says what they need.</exception>
    public HessianResult Hessian(HessianMethod method = HessianMethod.Eigen, double threshold = 1e-10, bool relative = false,
        CancellationToken cancellationToken = default)
    {
        var core = Core.Hessian.compute(_plan, new HessianOptions(CoreEnums.ToCore(method), threshold, relative, cancellationToken));
        var weights = _plan.Problem.A;
        return new HessianResult(_map.Blocks(core.Hessian).ToArray2D(), method, core.Kept, core.Dropped, core.SmallestKept, CoreEnums.Of(core.Factorisation),
            core.Threshold,
            // The measure rests on the plan not changing when every source point moves alike: true of balanced transport
            // under a quadratic cost only (its cost then changes by terms of one index each).
            _plan.Problem.Relaxation.IsBalanced && _plan.Problem.PairCost is null
                ? Core.Hessian.marginalError(core.Hessian, _plan.Problem.X.Cols, weights) : double.NaN,
            core.Elapsed);
    }

    /// <summary>The Hessian as a matrix-free operator (HVPs, parameter Hessians, sharp gradients) with the given CG settings.</summary>
    /// <param name="cg">The conjugate-gradient settings of its solves, or null for <see cref="CgOptions.Default"/>.</param>
    /// <returns>The operator; it uses this result's plan, so it is valid until the result is disposed.</returns>
    public HessianOperator HessianOperator(CgOptions? cg = null) => new(_plan, cg ?? CgOptions.Default, _map);

    /// <summary>∇²ₓL_ε · A for a direction A (n×d), without forming the Hessian (CG with the default settings).</summary>
    /// <param name="direction">The direction A (n×d, the shape of x).</param>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The product (n×d); <see cref="HessianOperator(CgOptions?)"/> gives it with its CG report.</returns>
    /// <exception cref="CgConvergenceException">CG did not reach its tolerance; use <see cref="HessianOperator(CgOptions?)"/> to change or relax it.</exception>
    [OverloadResolutionPriority(1)]
    public double[,] HessianVectorProduct(double[,] direction, CancellationToken cancellationToken = default) =>
        HessianOperator().Apply(direction, cancellationToken).Value;

    /// <summary>∇²ₓL_ε · A for a direction A (n×d) given as a Math.NET matrix, without forming the Hessian (CG with the default settings).</summary>
    /// <param name="direction">A (n×d).</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <returns>The product (n×d) as a new Math.NET matrix.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is not n×d or holds non-finite values.</exception>
    /// <exception cref="CgConvergenceException">CG did not reach its tolerance; use <see cref="HessianOperator(CgOptions?)"/> to change or relax it.</exception>
    public MathNetMatrix HessianVectorProduct(MathNetMatrix direction, CancellationToken cancellationToken = default) =>
        HessianOperator().Apply(direction, cancellationToken).Value;

    /// <summary>
    /// ∇²ₓL_ε · A for a direction A given row-major (n·d values), written row-major into <paramref name="destination"/>:
    /// the numbers of <see cref="HessianVectorProduct(double[,], CancellationToken)"/> with no result array allocated.
    /// </summary>
    /// <param name="direction">A, row-major (n·d values).</param>
    /// <param name="destination">n·d values, overwritten; it may not overlap <paramref name="direction"/>.</param>
    /// <param name="cancellationToken">Checked between CG iterations.</param>
    /// <exception cref="ArgumentException"><paramref name="direction"/> or <paramref name="destination"/> does not hold n·d values (the one at fault is named).</exception>
    /// <exception cref="CgConvergenceException">CG did not reach its tolerance; use <see cref="HessianOperator(CgOptions?)"/> to change or relax it.</exception>
    public void HessianVectorProduct(ReadOnlySpan<double> direction, Span<double> destination, CancellationToken cancellationToken = default) =>
        HessianOperator().Apply(direction, destination, cancellationToken);

    /// <summary>
    /// ∂S_ε/∂x (n×d) of the sharp Sinkhorn distance S_ε = ⟨P, C⟩ (Li et al. 2024, Proposition 2): the plan's own dependence on
    /// x comes from one linear solve with the H-matrix, run as CG on its Schur complement (default settings).
    /// </summary>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The gradient (n×d), at ε held fixed.</returns>
    /// <exception cref="CgConvergenceException">CG did not reach its tolerance.</exception>
    public double[,] SharpGradient(CancellationToken cancellationToken = default) => HessianOperator().SharpGradient(cancellationToken).Value;

    /// <summary>
    /// ∂S_ε/∂C (n×m) of the sharp Sinkhorn distance with respect to the cost matrix: P + (1/ε)(w_f 1ᵀ + 1 w_gᵀ − C) ∘ P,
    /// with w the solution of the same H-matrix system as <see cref="SharpGradient"/> (one CG solve). Works for cost-matrix
    /// problems too.
    /// </summary>
    /// <param name="cancellationToken">Checked between CG iterations; a cancelled token throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The gradient (n×m).</returns>
    public double[,] SharpCostGradient(CancellationToken cancellationToken = default) => HessianOperator().SharpCostGradient(cancellationToken).Value;

    /// <summary>
    /// ∇²_θ L_ε ((p·d)×(p·d), index p'·d + q) for the linear model x = X θ, from the dense Hessian or from p·d
    /// Hessian-vector products, whichever is cheaper (<see cref="ParameterHessianResult.Path"/> says which).
    /// </summary>
    /// <param name="design">The design matrix X (n×p) with which the solved x equals X θ.</param>
    /// <param name="cg">The CG settings of the matrix-free path, or null for <see cref="CgOptions.Default"/>.</param>
    /// <param name="cancellationToken">Checked between the stages and the CG iterations.</param>
    /// <returns>The parameter Hessian ((p·d)×(p·d)), how it was formed and, on the matrix-free path, the worst CG report.</returns>
    public ParameterHessianResult ParameterHessian(double[,] design, CgOptions? cg = null, CancellationToken cancellationToken = default) =>
        HessianOperator(cg).ParameterHessian(design, cancellationToken);

    /// <summary>
    /// Eigenvalues of the H-matrix [diag(P1), P; Pᵀ, diag(Pᵀ1)] ((n+m)×(n+m), positive semi-definite with a simple zero
    /// eigenvalue for a positive plan): its conditioning is what the Hessian's pseudo-inverse contends with. An unbalanced plan's H (SinkhornOptions.TauA,
    /// TauB) carries the penalties on its diagonal and is positive definite, except at the points whose mass it left behind
    /// entirely (their mass underflowed to zero; their rows of H are zero, one zero eigenvalue each): the smallest
    /// positive eigenvalue is then the smallest after those zeros.
    /// </summary>
    /// <returns>All eigenvalues ascending, the smallest positive one and the effective condition number λ_max / λ_{n+m−1}.</returns>
    /// <exception cref="InsufficientMemoryException">The (n+m)×(n+m) matrix and its eigenvectors cannot fit.</exception>
    /// <exception cref="NumericalFailureException">An unbalanced plan moved no mass at all (<see cref="TransportedMass"/> = 0): H is zero, with no positive eigenvalue.</exception>
    public SpectrumResult Spectrum()
    {
        var s = PlanSpectrum.ofSolved(_plan);
        return new SpectrumResult(Array.AsReadOnly(s.Eigenvalues), s.SmallestPositive, s.ConditionNumber);
    }

    /// <summary>The core's solved plan, for the command line and the F# API.</summary>
    internal SolvedPlan CorePlan => _plan;

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        ((IDisposable)_plan).Dispose();
    }
}
