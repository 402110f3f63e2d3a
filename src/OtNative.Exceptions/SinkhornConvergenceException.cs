namespace OtNative;

/// <summary>
/// Raised when a solve stops at its iteration cap with the returned plan's marginal error above the tolerance, unless the
/// options allow that (<c>SinkhornOptions.AllowUnconverged</c>). The message gives the numbers and what to change.
/// </summary>
/// <param name="message">The numbers, and what to change.</param>
/// <param name="iterations">Iterations run.</param>
/// <param name="marginalError">The returned plan's marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ (for unbalanced transport, against
/// the relaxed targets a∘e^{−f/τ_a} and b∘e^{−g/τ_b}).</param>
/// <param name="tolerance">The tolerance it did not reach.</param>
/// <param name="epsilon">The absolute ε of the solve.</param>
public class SinkhornConvergenceException(string message, int iterations, double marginalError, double tolerance, double epsilon)
    : ConvergenceException(message, iterations, marginalError)
{
    /// <summary>The tolerance it did not reach.</summary>
    public double Tolerance { get; } = tolerance;

    /// <summary>The absolute ε of the solve.</summary>
    public double Epsilon { get; } = epsilon;
}
