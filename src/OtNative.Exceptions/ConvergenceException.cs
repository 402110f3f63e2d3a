namespace OtNative;

/// <summary>Raised when the caller asked for convergence and the solver hit its iteration limit first.</summary>
/// <param name="message">What happened and what to change.</param>
/// <param name="iterations">Iterations completed.</param>
/// <param name="marginalError">The marginal error at the last iteration.</param>
public class ConvergenceException(string message, int iterations, double marginalError) : OtNativeException(message)
{
    /// <summary>Iterations completed.</summary>
    public int Iterations { get; } = iterations;

    /// <summary>The marginal error at the last iteration.</summary>
    public double MarginalError { get; } = marginalError;
}
