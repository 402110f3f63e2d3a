// The exceptions a caller may catch live in the user's namespace, OtNative, under one base type.
namespace OtNative

open System

/// The base of every exception OtNative raises for a numerical reason (bad input raises the .NET
/// argument exceptions, cancellation OperationCanceledException).
type OtNativeException(message: string, inner: exn) =
    inherit Exception(message, inner)
    new(message: string) = OtNativeException(message, null)

/// Raised when a solver's iterates stop being finite numbers (overflow at a tiny ε, a cost far
/// outside float64's range): the solver stops at once instead of returning NaN.
/// Carries the diagnostics of the iteration where it happened.
type NumericalFailureException(message: string, iterations: int, marginalError: float) =
    inherit OtNativeException(message)
    /// Iterations completed before the failure.
    member _.Iterations = iterations
    /// The last finite marginal error seen (NaN when none was).
    member _.MarginalError = marginalError

/// Raised when the caller asked for convergence (`RequireConvergence`) and the solver hit its
/// iteration limit first.
type ConvergenceException(message: string, iterations: int, marginalError: float) =
    inherit OtNativeException(message)
    /// Iterations completed.
    member _.Iterations = iterations
    /// The marginal error at the last iteration.
    member _.MarginalError = marginalError

/// Raised when a matrix that must be positive definite (a Newton system, a Cholesky solve) is not.
type NotPositiveDefiniteException(message: string) =
    inherit OtNativeException(message)

/// Raised when one problem of a batch fails; `ProblemIndex` says which (the first in input order when
/// several fail) and the inner exception why.
type BatchProblemException(problemIndex: int, inner: exn) =
    inherit OtNativeException(sprintf "problem %d of the batch failed: %s" problemIndex inner.Message, inner)
    /// The failed problem's position in the batch.
    member _.ProblemIndex = problemIndex

/// Raised on every rank of an MPI job whose ranks are not all ready for the same work (`MpiSession.Agree`): one failed
/// while reading its inputs or options (`Rank` is that rank), or their inputs or options differ (`Rank` is the first that
/// differs from rank 0). `InputFault`: the cause is the input (a missing or unreadable file, different data or options),
/// not a computation.
type MpiAgreementException(message: string, rank: int, inputFault: bool) =
    inherit OtNativeException(message)
    /// The rank at fault.
    member _.Rank = rank
    /// Whether the input, not a computation, is at fault.
    member _.InputFault = inputFault

/// Raised when a conjugate-gradient solve (HVP, sharp gradient, parameter Hessian) stops at its iteration cap
/// above its tolerance and the caller did not allow that. Carries the report.
type CgConvergenceException(message: string, iterations: int, residual: float) =
    inherit OtNativeException(message)
    /// CG iterations run.
    member _.Iterations = iterations
    /// The relative residual reached (worst column).
    member _.Residual = residual

/// Refuses a dense request (a materialised plan, a dense Hessian, an H-matrix spectrum) that cannot fit, before
/// anything is allocated, saying what it needs, what is available and the matrix-free alternative.
module internal DenseRequest =
    /// Two sizes in GiB with as many significant digits as it takes to tell them apart (two to six): "needs about 0.2 GiB
    /// but 0.2 GiB are available" said nothing.
    let internal apart (needed: float) (available: float) =
        let show (digits: int) (bytes: float) = (bytes / 1073741824.0).ToString("G" + string digits, Globalization.CultureInfo.InvariantCulture)
        let digits = seq { 2 .. 6 } |> Seq.tryFind (fun d -> show d needed <> show d available) |> Option.defaultValue 6
        show digits needed, show digits available

    /// What a symmetric eigendecomposition of an N × N matrix allocates besides the matrix and its vectors, in units of
    /// N² float64: LAPACKE's column-major copy of a row-major matrix (N²) and dsyevd's workspace (1 + 6N + 2N²); Math.NET's
    /// managed solver needs less. Left out, the peak resident memory ran 27 % above the estimate for the eigen path and 16 %
    /// for the Schur path at n = 3 000.
    let eigenWorkspace = 3.0

    /// `what` needs `bytes` in all, its largest single array having `largest` elements.
    let require (what: string) (bytes: float) (largest: float) (alternative: string) =
        // What the process may still allocate: its limit (physical memory, or a GC heap limit) less what its heap holds —
        // measured again after a full collection before refusing, so that garbage (a previous Hessian) does not count.
        let availableAfter (collect: bool) = max 0.0 (float (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) - float (GC.GetTotalMemory collect))
        let tooLong = largest > float Array.MaxLength
        let available = if tooLong || bytes <= availableAfter false then availableAfter false else availableAfter true
        if tooLong || bytes > available then
            let needed, free = apart bytes available
            raise (InsufficientMemoryException(
                sprintf "%s needs about %s GiB%s but %s GiB are available: %s." what needed
                    (if tooLong then sprintf " (one array of %.3g elements, beyond .NET's limit of %d)" largest Array.MaxLength else "")
                    free alternative))
