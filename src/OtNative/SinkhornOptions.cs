using Microsoft.FSharp.Core;

namespace OtNative;

/// <summary>The iteration that reaches the tolerance. All return the same plan, to the tolerance.</summary>
public enum SinkhornSolver
{
    /// <summary>Alternating log-domain Sinkhorn updates.</summary>
    Sinkhorn,
    /// <summary>L-BFGS on the semi-dual: two streamed passes an evaluation, far fewer evaluations at small ε.</summary>
    Lbfgs,
    /// <summary>L-BFGS from the automatic initialiser: the fastest on every data set of <c>otnative bench forward</c>.</summary>
    Auto,
    /// <summary>
    /// Sinkhorn updates until they stall (at their measured rate not yet half way, or short of the tolerance at the
    /// iteration cap), then L-BFGS from their potentials; <see cref="SinkhornResult.SwitchedToLbfgsAt"/> says when.
    /// </summary>
    SinkhornThenLbfgs,
}

/// <summary>Where a solve starts when no potential is given. It changes the iterations, never the answer.</summary>
public enum SinkhornInitializer
{
    /// <summary>f = 0.</summary>
    None,
    /// <summary>The potential of the Monge map between the clouds' Gaussian fits (point clouds only).</summary>
    Gaussian,
    /// <summary>One-dimensional clouds (d = 1): the unregularised potential of the monotone (quantile) map.</summary>
    Sorting,
    /// <summary>A coarse solve between 256-point subsamples of both clouds, extended to every point by the soft c-transform (point clouds).</summary>
    Subsample,
    /// <summary>Sorting for one-dimensional clouds, Gaussian for other point clouds, none for a cost matrix.</summary>
    Auto,
    /// <summary>
    /// Gaussian mixtures fitted to both clouds (1 to 6 components each, chosen by BIC), the Gaussian potentials between
    /// their components mixed by the components' entropic plan (point clouds).
    /// </summary>
    Gmm,
}

/// <summary>
/// The arithmetic of the Sinkhorn updates' exponentials, the cost of a sweep: a sum of positive terms does not need each
/// term to 16 digits, so float32 exponentials of float64 arguments, summed in float64, reach about 1e-8 marginal error.
/// </summary>
public enum SinkhornPrecision
{
    /// <summary>float64 throughout.</summary>
    Double,
    /// <summary>
    /// float32 exponentials of float64 arguments, summed in float64, potentials float64 (on the CPU and across MPI ranks,
    /// for problems of at least 256 points a side; CUDA and smaller problems run float64). The iterations switch to float64 once the error reaches the tolerance or stalls at float32's floor
    /// (about 1e-8), so the last iteration and the returned plan's measured error are float64's:
    /// <see cref="SinkhornResult.Converged"/> and <see cref="SinkhornResult.MarginalError"/> mean what they always mean.
    /// </summary>
    Mixed,
    /// <summary>Mixed when the tolerance is at least 1e-7 (ten times float32's floor), float64 otherwise.</summary>
    Auto,
}

/// <summary>
/// Options of the log-domain Sinkhorn solver (Cuturi 2013's scaling iterations on the potentials f, g, streamed over the
/// pairs without storing the cost). Immutable; use <c>with</c> to change a field.
/// </summary>
public sealed record SinkhornOptions
{
    /// <summary>
    /// The regularisation ε: by default a multiple of the weighted mean cost Σ a_i b_j C_ij (<see cref="EpsilonRelative"/>),
    /// so that the default suits clouds at any scale; an absolute ε, as on the command line (<c>--eps</c>) and in
    /// <see cref="RegressionOptions"/>, with <see cref="EpsilonRelative"/> = false. Default 0.05 (× mean cost).
    /// </summary>
    public double Epsilon { get; init; } = 0.05;

    /// <summary>
    /// When true, ε = <see cref="Epsilon"/> × weighted mean cost (the protocol of Li et al. 2024; <c>--eps-relative</c>), resolved once
    /// from the inputs; the ε used is <see cref="SinkhornResult.Epsilon"/>. Every derivative (gradients, Hessians, HVPs) is
    /// taken at that ε held fixed: it does not follow ε's dependence on x through the mean cost, so it is not the
    /// derivative of <c>x ↦ Solve(x, y).Value</c> with ε recomputed at each x (for that, solve with the resolved ε as an
    /// absolute one). Default true.
    /// </summary>
    public bool EpsilonRelative { get; init; } = true;

    /// <summary>
    /// Converged when the returned plan's marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ is below this (for unbalanced transport the
    /// targets are the relaxed optimality conditions a∘e^{−f/τ_a} and b∘e^{−g/τ_b}); the iterations stop at half of it, so
    /// that the rounding of the marginal a loop takes as exact cannot push a finished solve over. Default 1e-6.
    /// </summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>Iteration cap (one iteration = a g-update and an f-update). Default 10 000.</summary>
    public int MaxIterations { get; init; } = 10_000;

    /// <summary>Warm start for the source potential f (length n). The solve then starts with the g-update.</summary>
    public IReadOnlyList<double>? InitialF { get; init; }

    /// <summary>Warm start for the target potential g (length m), used when <see cref="InitialF"/> is null.</summary>
    public IReadOnlyList<double>? InitialG { get; init; }

    /// <summary>
    /// Return a plan that stopped at <see cref="MaxIterations"/> above the tolerance (<see cref="SinkhornResult.Converged"/>
    /// false, its marginal error in <see cref="SinkhornResult.MarginalError"/>) instead of throwing
    /// <see cref="SinkhornConvergenceException"/>. Default false: no silent non-convergence.
    /// </summary>
    public bool AllowUnconverged { get; init; }

    /// <summary>Throw on non-convergence: the default now; see <see cref="AllowUnconverged"/>.</summary>
    [Obsolete("Convergence is required by default, and RequireConvergence = false no longer allows an unconverged plan: set AllowUnconverged.")]
    public bool RequireConvergence { get; init; }

    /// <summary>
    /// Unbalanced transport: the strength τ_a &gt; 0 of the penalty τ_a KL(P1 ‖ a) that replaces the constraint P1 = a, so
    /// that source mass whose transport costs more than the penalty is left behind (outliers). Default
    /// <see cref="double.PositiveInfinity"/>: balanced. Each update becomes the balanced one times τ/(τ + ε); the value is
    /// the unbalanced dual, <see cref="SinkhornResult.TransportedMass"/> says how much mass moved, and every derivative in
    /// x (gradient, Hessian, HVP) follows the relaxed optimality conditions. L-BFGS is for balanced problems only:
    /// <see cref="SinkhornSolver.Auto"/> then runs Sinkhorn updates. Same units as the cost (and ε); at least 1e-200 × ε
    /// (smaller values, subnormal ones included, throw <see cref="ArgumentException"/>: the plan has reached its τ → 0 limit there).
    /// </summary>
    public double TauA { get; init; } = double.PositiveInfinity;

    /// <summary>The strength τ_b &gt; 0 of the penalty τ_b KL(Pᵀ1 ‖ b) on the target marginal; ∞ (the default) keeps Pᵀ1 = b. See <see cref="TauA"/>.</summary>
    public double TauB { get; init; } = double.PositiveInfinity;

    /// <summary>
    /// The ground cost c(x, y) between point clouds: <see cref="GroundCost.SquaredEuclidean"/> (the default),
    /// <see cref="GroundCost.Mahalanobis"/>, <see cref="GroundCost.Euclidean"/>, <see cref="GroundCost.PNorm"/> or a
    /// user's <see cref="GroundCost.Custom"/>. Derivatives are in the caller's coordinates whatever the cost. A cost matrix
    /// (<see cref="EntropicOT.SolveCost(double[,], SinkhornOptions, CancellationToken)"/>) is its own cost: a cost other
    /// than the default is then refused.
    /// </summary>
    public GroundCost Cost { get; init; } = GroundCost.SquaredEuclidean;

    /// <summary>Scale positive weights to sum one instead of rejecting them.</summary>
    public bool RenormalizeWeights { get; init; }

    /// <summary>Where to compute. Default <see cref="ComputeBackend.Cpu"/>.</summary>
    public ComputeBackend Backend { get; init; } = ComputeBackend.Cpu;

    /// <summary>
    /// The SIMD width of the CPU kernels: on <see cref="ComputeBackend.Cpu"/>, on <see cref="ComputeBackend.Auto"/> when it
    /// runs on the CPU, and on each rank of an MPI batch (<c>MpiSession.SolveBatch</c>); a single solve split across
    /// MPI ranks runs at the default width. Default <see cref="CpuVectorWidth.Auto"/>: the widest this processor executes,
    /// or the one the OTNATIVE_SIMD variable names.
    /// </summary>
    public CpuVectorWidth VectorWidth { get; init; }

    /// <summary>
    /// Where a solve says which fallbacks it takes, or null: a warning when <see cref="ComputeBackend.Auto"/> ran on the
    /// CPU instead of CUDA (with why), and one when the dense linear algebra (Hessians, spectra, Newton steps) runs on the
    /// managed Math.NET fallback because the native LAPACK/BLAS is missing (8–20× slower dense Hessians). Not used by the
    /// solve itself; <see cref="SinkhornResult.BackendNote"/> and <see cref="SinkhornResult.LinearAlgebra"/> say the same.
    /// </summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    /// <summary>
    /// ε-annealing: solve loosely at ε₀ = the largest cost, halve, repeat (each stage warm-started) down to ε, then to the
    /// tolerance. Same answer, usually far fewer iterations at small ε. Default false.
    /// </summary>
    public bool Anneal { get; init; }

    /// <summary>Where to start when neither <see cref="InitialF"/> nor <see cref="InitialG"/> is given. Default <see cref="SinkhornInitializer.None"/>.</summary>
    public SinkhornInitializer Initializer { get; init; }

    /// <summary>
    /// Which iteration reaches the tolerance. Default <see cref="SinkhornSolver.Auto"/> (L-BFGS from the automatic
    /// initialiser: the fastest on every data set of <c>otnative bench forward</c>); <see cref="SinkhornSolver.Sinkhorn"/>
    /// for the plain alternating updates (on CUDA, a batch of them runs in lockstep).
    /// </summary>
    public SinkhornSolver Solver { get; init; } = SinkhornSolver.Auto;

    /// <summary>
    /// The arithmetic of the Sinkhorn updates' exponentials (alternating, annealed, the divergence's symmetric self-terms;
    /// on the CPU and across MPI ranks) and of L-BFGS's evaluations. Default <see cref="SinkhornPrecision.Double"/>.
    /// <see cref="SinkhornPrecision.Auto"/> keeps L-BFGS float64 (float32's noise cost it more evaluations than it saved,
    /// measured at n = 4 000); <see cref="SinkhornPrecision.Mixed"/> applies to it too. Derivatives are always float64.
    /// </summary>
    public SinkhornPrecision Precision { get; init; }

    /// <summary>Receives the iteration count and marginal error every <see cref="ProgressInterval"/> iterations (with the problem's index in a batch).</summary>
    public IProgress<SinkhornProgress>? Progress { get; init; }

    /// <summary>Iterations between progress reports. Default 10.</summary>
    public int ProgressInterval { get; init; } = 10;

    /// <summary>The defaults: ε = 0.05 × mean cost, tolerance 1e-6 (required), 10 000 iterations, the automatic solver, CPU.</summary>
    public static SinkhornOptions Default { get; } = new();

    internal Core.Epsilon CoreEpsilon => EpsilonRelative ? Core.Epsilon.NewRelativeToMeanCost(Epsilon) : Core.Epsilon.NewAbsolute(Epsilon);

    internal Core.SinkhornOptions ToCore(CancellationToken cancellation)
    {
        var progress = Progress;
        return new Core.SinkhornOptions(
            CoreEpsilon,
            Tolerance,
            MaxIterations,
            InitialF is not null ? Core.Start.NewFromF(InitialF.ToArray())
                : InitialG is not null ? Core.Start.NewFromG(InitialG.ToArray())
                : Core.Start.Initialised,
#pragma warning disable CS0618 // the obsolete flag still asks for what the default does
            RequireConvergence || !AllowUnconverged,
#pragma warning restore CS0618
            progress is null ? null : FSharpOption<FSharpFunc<Core.SinkhornProgress, Unit>>.Some(
                FuncConvert.FromAction<Core.SinkhornProgress>(p => progress.Report(SinkhornProgress.Of(p)))),
            ProgressInterval,
            cancellation,
            Anneal,
            Initializer switch
            {
                SinkhornInitializer.None => Core.Initializer.None,
                SinkhornInitializer.Gaussian => Core.Initializer.Gaussian,
                SinkhornInitializer.Sorting => Core.Initializer.Sorting,
                SinkhornInitializer.Subsample => Core.Initializer.Subsample,
                SinkhornInitializer.Auto => Core.Initializer.Auto,
                SinkhornInitializer.Gmm => Core.Initializer.Gmm,
                _ => throw new ArgumentOutOfRangeException(nameof(Initializer), Initializer, "Unknown initializer."),
            },
            Solver switch
            {
                SinkhornSolver.Sinkhorn => Core.ForwardSolver.Sinkhorn,
                SinkhornSolver.Lbfgs => Core.ForwardSolver.Lbfgs,
                SinkhornSolver.Auto => Core.ForwardSolver.Auto,
                SinkhornSolver.SinkhornThenLbfgs => Core.ForwardSolver.SinkhornThenLbfgs,
                _ => throw new ArgumentOutOfRangeException(nameof(Solver), Solver, "Unknown solver."),
            },
            Precision switch
            {
                SinkhornPrecision.Double => Core.Precision.Double,
                SinkhornPrecision.Mixed => Core.Precision.Mixed,
                SinkhornPrecision.Auto => Core.Precision.Auto,
                _ => throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "Unknown precision: use Double, Mixed or Auto."),
            });
    }
}
