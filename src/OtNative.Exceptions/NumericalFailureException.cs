namespace OtNative;

/// <summary>
/// Raised when a solver's iterates stop being finite numbers (overflow at a tiny ε, a cost far outside float64's range):
/// the solver stops at once instead of returning NaN. Carries the diagnostics of the iteration where it happened.
/// </summary>
/// <param name="message">What happened and what to change.</param>
/// <param name="iterations">Iterations completed before the failure.</param>
/// <param name="marginalError">The last finite marginal error seen (NaN when none was).</param>
public class NumericalFailureException(string message, int iterations, double marginalError) : OtNativeException(message)
{
    /// <summary>Iterations completed before the failure.</summary>
    public int Iterations { get; } = iterations;

    /// <summary>The last finite marginal error seen (NaN when none was).</summary>
    public double MarginalError { get; } = marginalError;
}
