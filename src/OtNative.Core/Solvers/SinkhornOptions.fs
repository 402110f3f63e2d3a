namespace OtNative.Core

open System

/// Progress of a running solve, reported once per `ProgressInterval` iterations.
[<Struct>]
type SinkhornProgress =
    { Iteration: int
      MarginalError: float
      Elapsed: TimeSpan
      /// The problem's index in a batch; −1 for a single solve.
      ProblemIndex: int }

/// Where a solve starts when no potential is given. The cases are named as the façade's `SinkhornInitializer`.
[<RequireQualifiedAccess>]
type Initializer =
    /// f = 0.
    | None
    /// The potential of the Monge map between the clouds' Gaussian fits (point clouds only).
    | Gaussian
    /// One-dimensional clouds: the unregularised potential of the monotone (quantile) map.
    | Sorting
    /// A coarse solve between subsamples of both clouds, extended to every point by the soft c-transform (point clouds).
    | Subsample
    /// The Gaussian potentials between the components of Gaussian mixtures fitted to both clouds, mixed by the
    /// components' entropic plan (point clouds).
    | Gmm
    /// Sorting for one-dimensional clouds, Gaussian for others (f = 0 where the source covariance is singular),
    /// zero for a cost matrix.
    | Auto

/// The iteration that reaches the tolerance. The cases are named as the façade's `SinkhornSolver`.
[<RequireQualifiedAccess>]
type ForwardSolver =
    /// Alternating log-domain updates (math.md §1).
    | Sinkhorn
    /// L-BFGS on the semi-dual (math.md §6): two passes an evaluation, far fewer evaluations at small ε.
    | Lbfgs
    /// L-BFGS, started by the automatic initialiser unless a start is given: the fastest to tolerance on every data set
    /// and ε of `otnative bench forward` (docs/forward.md).
    | Auto
    /// Sinkhorn updates until they stall — at their measured rate they are not yet half way, or would not reach the
    /// tolerance in the iterations left — then L-BFGS from their g with half the budget left, and the updates again if
    /// L-BFGS does not converge either (math.md §6).
    | SinkhornThenLbfgs

/// The arithmetic of the exponentials in the Sinkhorn sweeps (math.md §1, "Mixed precision"). The cases are named as
/// the façade's `SinkhornPrecision`.
[<RequireQualifiedAccess>]
type Precision =
    /// float64 throughout.
    | Double
    /// float32 exponentials of float64 arguments, summed in float64, potentials float64, on backends with a mixed
    /// half-step (CPU); the iterations switch to float64 once the error reaches the tolerance or stalls at float32's
    /// floor, so the last iteration and the returned plan's measurement are float64.
    | Mixed
    /// Mixed when the tolerance is at least `Precision.mixedFloor`'s tenfold, float64 otherwise.
    | Auto

module Precision =
    /// The marginal error below which float32 exponentials stop helping: each term's relative error is about
    /// 2⁻²⁴ (1 + |z|) for its exponent z; measured, the loop's error stalls between 3e-9 and 2e-8 on uniform clouds of
    /// 64 to 2 000 points in d = 3 at ε = 0.01 … 0.5 × mean cost (lower for larger clouds, math.md §1).
    let mixedFloor = 1e-8

    /// `precision` with Auto decided for the solve's `tolerance` — once, at the entry: the loose inner solves of
    /// annealing and initialisers must not turn a float64 solve mixed.
    let resolve (precision: Precision) (tolerance: float) =
        match precision with
        | Precision.Auto -> if tolerance >= 10.0 * mixedFloor then Precision.Mixed else Precision.Double
        | decided -> decided

    /// `precision` for L-BFGS's evaluations: Auto is float64 there. float32's noise in the gradient costs L-BFGS more
    /// evaluations than the cheaper f-updates save: 164 against 113 evaluations, 2.3 s against 1.7–2.0 s at n = m = 4 000,
    /// ε = 0.002 × mean cost, tolerance 1e-6 (uniform clouds, d = 2). Mixed when asked for.
    let resolveForLbfgs (precision: Precision) =
        match precision with
        | Precision.Auto -> Precision.Double
        | decided -> decided

/// Where a solve starts.
[<RequireQualifiedAccess>]
type Start =
    /// Where the initialiser (`SinkhornOptions.Initializer`) puts it: f = 0 unless one is chosen.
    | Initialised
    /// From this f (length n): the updates begin with the g-update (L-BFGS with the g-update of it).
    | FromF of float[]
    /// From this g (length m): the updates begin with the f-update (L-BFGS from it).
    | FromG of float[]

/// Options of the log-domain Sinkhorn solver (math.md §1).
type SinkhornOptions =
    { /// ε, absolute or relative to the weighted mean cost.
      Epsilon: Epsilon
      /// Converged when the returned plan's ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ is below this (the iterations stop at half of it).
      Tolerance: float
      /// Iteration cap (one iteration = a g-update and an f-update).
      MaxIterations: int
      /// A warm start, or the initialiser's.
      Start: Start
      /// Raise ConvergenceException instead of returning `Converged = false`.
      RequireConvergence: bool
      /// Called every `ProgressInterval` iterations.
      Progress: (SinkhornProgress -> unit) option
      ProgressInterval: int
      /// Checked between iterations: a cancelled solve throws OperationCanceledException.
      Cancellation: Threading.CancellationToken
      /// ε-annealing (math.md §1): solve at ε_t = max(ε, ε₀ qᵗ) from ε₀ = the largest cost down, each stage
      /// warm-started from the last, before the final solve at ε. Off by default.
      Anneal: bool
      /// Where to start when `Start` is `Initialised`.
      Initializer: Initializer
      /// Which iteration runs (annealing applies to Sinkhorn updates only).
      Solver: ForwardSolver
      /// The arithmetic of the exponentials of the Sinkhorn updates (alternating or symmetric) and of L-BFGS's evaluations.
      Precision: Precision }

    /// ε = 0.05 × mean cost, tolerance 1e-6, 10 000 iterations, zero initial potentials.
    static member Default =
        { Epsilon = RelativeToMeanCost 0.05
          Tolerance = 1e-6
          MaxIterations = 10_000
          Start = Start.Initialised
          RequireConvergence = false
          Progress = None
          ProgressInterval = 10
          Cancellation = Threading.CancellationToken.None
          Anneal = false
          Initializer = Initializer.None
          Solver = ForwardSolver.Sinkhorn
          Precision = Precision.Double }

/// Where the iterations stop, as a fraction of the tolerance. Each loop measures one marginal and takes the other as
/// exact, while the returned plan's error (what `Converged` is decided on) adds the other's rounding, about m · 1e-16:
/// stopping at the tolerance itself, a slowly converging solve that ends just below it was reported unconverged
/// (1.00024e-11 against 1e-11, in about 0.2 % of small random problems). Half costs an iteration or two.
module StoppingRule =
    /// The marginal error at which a loop run to `tolerance` stops.
    let threshold (tolerance: float) = 0.5 * tolerance

/// A solved problem: the potentials and the diagnostics. `Value` is the dual objective
/// ⟨a,f⟩ + ⟨b,g⟩ (the plan's total mass is exactly 1 after the final g-update), equal to the
/// entropic OT value at the optimum and a lower bound before.
type SinkhornSolution =
    { F: float[]
      G: float[]
      /// The absolute ε used.
      Epsilon: float
      Value: float
      Iterations: int
      /// ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the returned plan, measured on it (the column term is zero to rounding after
      /// the final g-update, except at an ε so small that rounding dominates).
      MarginalError: float
      Converged: bool
      /// Streamed passes over the n×m pairs the solve used (two an iteration or L-BFGS evaluation, one a symmetric
      /// iteration, one to start from a given g, two to measure the returned plan): the cost unit every method shares.
      Passes: int
      /// The Sinkhorn iteration after which L-BFGS took over (`SinkhornThenLbfgs` on a stalled solve); None otherwise.
      SwitchedToLbfgsAt: int option
      /// The iterations whose exponentials were float32 (mixed precision); the rest were float64.
      MixedIterations: int
      Elapsed: TimeSpan }
