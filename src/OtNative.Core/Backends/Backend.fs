namespace OtNative.Core

open System

/// Which marginal a primitive works along: `Rows` updates or reduces over the source index i
/// (one output per source point), `Cols` over the target index j.
type Side =
    | Rows
    | Cols

/// Whether a backend can run a problem, and if not, why.
type BackendSupport =
    | Supported
    | Unsupported of reason: string

/// A problem prepared on one backend (data uploaded, layouts transposed): the transport operator every
/// solver and derivative works through. Every primitive is streamed: the plan
/// P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε) is evaluated on the fly unless `Plan` is asked for.
type ITransportOperator =
    inherit IDisposable
    /// The (validated) problem this operator was prepared for.
    abstract Problem: OtProblem
    /// The backend that prepared it, whose linear algebra the dense derivatives use.
    abstract Backend: IBackend
    /// One Sinkhorn half-step. `Rows`: result_i = −ε LSE_j(log b_j + (other_j − C_ij)/ε)
    /// (the f-update from g); `Cols`: result_j = −ε LSE_i(log a_i + (other_i − C_ij)/ε). result's incoming values,
    /// where finite, are a guess of the answer (the previous potential, in a Sinkhorn loop) that a backend may use
    /// to do less work; they never change the answer beyond rounding. A half-step of a large problem checks
    /// `cancellation` as it goes (between blocks of rows), so a cancelled solve stops promptly.
    abstract Softmin: side: Side * eps: float * other: float[] * result: float[] * cancellation: Threading.CancellationToken -> unit
    /// Transport application. `Rows`: out (n×k) = (P ∘ W) V for V (m×k);
    /// `Cols`: out (m×k) = (P ∘ W)ᵀ V for V (n×k); W = C when `costWeighted`, else all ones.
    abstract Apply: side: Side * eps: float * f: float[] * g: float[] * v: Matrix * costWeighted: bool -> Matrix
    /// The materialised n×m plan.
    abstract Plan: eps: float * f: float[] * g: float[] -> Matrix

/// A compute backend (CPU reference, CUDA): the streamed transport primitives and the dense linear
/// algebra that runs beside them. Unsupported operations throw NotSupportedException naming the
/// operation; `Supports` says so in advance, which is what an automatic choice falls back on.
and IBackend =
    /// Short name used in diagnostics and on the command line (`cpu`, `cuda`).
    abstract Name: string
    /// Whether the backend can run here (a CUDA backend without a device says false).
    abstract IsAvailable: bool
    /// A human-readable description of the hardware and code paths in use.
    abstract Description: string
    /// The dense linear algebra of this backend (Hessians, spectra, Newton systems).
    abstract LinearAlgebra: ILinearAlgebra
    /// Whether `Prepare` can take this problem here (device present, geometry and dimension handled).
    abstract Supports: problem: OtProblem -> BackendSupport
    /// Prepares a problem for the primitives.
    abstract Prepare: problem: OtProblem -> ITransportOperator

/// A backend whose operators' primitives are collective across processes (MPI): every process calls them in the same
/// order, from one thread, so work that calls them from several threads at once (a parallel batch) must not run on it.
type ICollectiveBackend =
    inherit IBackend

/// A half-step with its exponentials in float32 (mixed precision, math.md §1): the arguments f_j/ε − C_ij/ε formed and
/// the sums accumulated in float64, potentials float64; rows whose sum leaves float32's safe range are computed in
/// float64. Results differ from `Softmin`'s by the float32 rounding of each term: a relative error of about
/// 2⁻²⁴ (1 + |z|) for a term of exponent z (math.md §1).
type IMixedHalfStep =
    /// `Softmin` with float32 exponentials.
    abstract SoftminMixed: side: Side * eps: float * other: float[] * result: float[] * cancellation: Threading.CancellationToken -> unit
    /// Whether float32 exponentials make this problem's half-steps faster; where they do not (short rows, whose
    /// sums wait on the exponential's latency rather than its throughput) a mixed solve runs float64 and says so.
    abstract Worthwhile: bool

/// The passes that measure a returned plan — its marginals and transported targets — written into the caller's arrays,
/// for operators that need no temporaries of their own for them (CPU: a batch of small problems then allocates only its
/// results). The same numbers as `Apply` with the columns [1 | targets] and 1.
type IMomentPasses =
    /// rowMass (n) = P1 and transported (n × d, row-major) = P targets for targets (m × d, or null for none: d = 0), in one
    /// pass; `cancellation` is checked between blocks of rows.
    abstract RowMoments: eps: float * f: float[] * g: float[] * targets: Matrix * rowMass: float[] * transported: float[] * cancellation: Threading.CancellationToken -> unit
    /// columnMass (m) = Pᵀ1.
    abstract ColumnMass: eps: float * f: float[] * g: float[] * columnMass: float[] * cancellation: Threading.CancellationToken -> unit

/// Pᵀ diag(w) P V in one streamed pass, for operators with a kernel for it (CPU): each plan entry is evaluated once and
/// its row kept in cache between the two contractions, where two `Apply` passes (P V, then Pᵀ of the scaled result)
/// evaluate every entry twice. The HVP's CG applies this operator at every step. The result is deterministic: it does
/// not depend on the number of threads.
type ICoupledApply =
    /// out (m × k) = Pᵀ diag(rowWeights) P V for V (m × k) and rowWeights (n); checks `cancellation` between blocks of rows.
    abstract Coupled: eps: float * f: float[] * g: float[] * rowWeights: float[] * v: Matrix * cancellation: Threading.CancellationToken -> Matrix

/// Per-pair contractions of a point-cloud plan, with the half gradient h_ij = ∇ₓc(x_i, y_j)/2 formed for every pair
/// (math.md §3, §10) — the difference x_i − y_j for the squared Euclidean cost: the sums behind the HVP and the dense
/// Hessian's blocks, for operators with kernels of their own (CUDA) and for every cost other than the squared Euclidean
/// one. Without them the same numbers come from `Apply` and the plan's moments; `PairContractions.reference` defines them.
type IPairContractions =
    /// out (n × k(d+1)): for each column c of w (m × k), Σ_j P_ij w_jc, then the d entries Σ_j P_ij w_jc h_ij.
    abstract ContractRows: eps: float * f: float[] * g: float[] * w: Matrix -> Matrix
    /// out (m × k): Σ_i P_ij h_ij · v_i,c for the k directions v_i,c = v[i, c·d … c·d + d) (v is n × k·d).
    abstract DotCols: eps: float * f: float[] * g: float[] * v: Matrix -> Matrix
    /// out (n × k·d): Σ_j P_ij h_ij (h_ij · a_i,c) for each row's own directions a_i,c (a is n × k·d).
    abstract OuterRows: eps: float * f: float[] * g: float[] * a: Matrix -> Matrix
    /// The Hessian's R_g block (m × n·d) times scale: scale · P_ij (2 h_ij,q − gOverR[i·d + q]).
    abstract RBlock: eps: float * f: float[] * g: float[] * gOverR: float[] * scale: float -> Matrix

/// The contractions a ground cost other than the squared Euclidean one adds to `IPairContractions` (math.md §10): the
/// terms in which the default cost's constants (∇²c = 2I, and C∇c expanded in moments) stood.
type ICostContractions =
    /// out (n × k·d): Σ_j P_ij ∇²ₓc_ij a_i,c for each row's own directions a_i,c (a is n × k·d).
    abstract CurvatureRows: eps: float * f: float[] * g: float[] * a: Matrix -> Matrix
    /// out (n × d): Σ_j P_ij C_ij ∇ₓc_ij, the sharp gradient's cost-weighted term.
    abstract CostWeightedRows: eps: float * f: float[] * g: float[] -> Matrix
    /// out (n × k·d): Σ_j P_ij ((4/ε) h_ij (h_ij · b_j,c) − ∇²ₓc_ij b_j,c) for directions b_j,c of the columns' points
    /// (b is m × k·d): the direct part of the mixed Hessian ∂²L/∂x∂y applied to b, for a translation-invariant cost
    /// (∇_y c = −∇ₓc, ∇²ₓᵧc = −∇²ₓc).
    abstract MixedRows: eps: float * f: float[] * g: float[] * b: Matrix -> Matrix

/// One half-step of many prepared problems at once (CUDA: one launch for all of them): results.[p] is what problem p's
/// own operator's `Softmin(side, eps.[p], others.[p], …)` gives.
type IBatchedHalfStep =
    inherit System.IDisposable
    abstract Softmin: side: Side * eps: float[] * others: float[][] * results: float[][] -> unit

/// A backend that runs the half-steps of a batch of problems together (`Batch` then solves them in lockstep).
type IBatchingBackend =
    /// Prepares the problems (point clouds of one dimension, each one this backend supports) for batched half-steps.
    abstract PrepareBatch: problems: OtProblem[] -> IBatchedHalfStep
