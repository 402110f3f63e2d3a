namespace OtNative.Core

open System

/// Raised when a solver's iterates stop being finite numbers (overflow at a tiny ε, a cost far
/// outside float64's range): the solver stops at once instead of returning NaN.
/// Carries the diagnostics of the iteration where it happened.
type NumericalFailureException(message: string, iterations: int, marginalError: float) =
    inherit Exception(message)
    /// Iterations completed before the failure.
    member _.Iterations = iterations
    /// The last finite marginal error seen (NaN when none was).
    member _.MarginalError = marginalError

/// Raised when the caller asked for convergence (`RequireConvergence`) and the solver hit its
/// iteration limit first.
type ConvergenceException(message: string, iterations: int, marginalError: float) =
    inherit Exception(message)
    /// Iterations completed.
    member _.Iterations = iterations
    /// The marginal error at the last iteration.
    member _.MarginalError = marginalError

/// Raised when a matrix that must be positive definite (a Newton system, a Cholesky solve) is not.
type NotPositiveDefiniteException(message: string) =
    inherit Exception(message)
