namespace OtNative.Core

open System

/// Which marginal a primitive works along: `Rows` updates or reduces over the source index i
/// (one output per source point), `Cols` over the target index j.
type Side =
    | Rows
    | Cols

/// A problem prepared on one backend (data uploaded, layouts transposed). Every primitive is
/// streamed: the plan P_ij = a_i b_j exp((f_i + g_j − C_ij)/ε) is evaluated on the fly unless
/// `Plan` is asked for.
type ITransportKernel =
    inherit IDisposable
    /// The (validated) problem this kernel was prepared for.
    abstract Problem: OtProblem
    /// One Sinkhorn half-step. `Rows`: result_i = −ε LSE_j(log b_j + (other_j − C_ij)/ε)
    /// (the f-update from g); `Cols`: result_j = −ε LSE_i(log a_i + (other_i − C_ij)/ε).
    abstract Softmin: side: Side * eps: float * other: float[] * result: float[] -> unit
    /// Transport application. `Rows`: out (n×k) = (P ∘ W) V for V (m×k);
    /// `Cols`: out (m×k) = (P ∘ W)ᵀ V for V (n×k); W = C when `costWeighted`, else all ones.
    abstract Apply: side: Side * eps: float * f: float[] * g: float[] * v: Matrix * costWeighted: bool -> Matrix
    /// The materialised n×m plan.
    abstract Plan: eps: float * f: float[] * g: float[] -> Matrix

/// A compute backend (CPU reference, CUDA). Unsupported operations throw
/// NotSupportedException naming the operation; there is no silent fallback.
type IBackend =
    /// Short name used in diagnostics and on the command line (`cpu`, `cuda`).
    abstract Name: string
    /// Whether the backend can run here (a CUDA backend without a device says false).
    abstract IsAvailable: bool
    /// A human-readable description of the hardware and code paths in use.
    abstract Description: string
    /// Prepares a problem for the primitives.
    abstract Prepare: problem: OtProblem -> ITransportKernel
