namespace OtNative;

/// <summary>
/// Raised when a conjugate-gradient solve (HVP, sharp gradient, parameter Hessian) stops at its iteration cap above its
/// tolerance and the caller did not allow that.
/// </summary>
/// <param name="message">The report, and what to change.</param>
/// <param name="iterations">CG iterations run.</param>
/// <param name="residual">The relative residual reached (worst column).</param>
public class CgConvergenceException(string message, int iterations, double residual) : OtNativeException(message)
{
    /// <summary>CG iterations run.</summary>
    public int Iterations { get; } = iterations;

    /// <summary>The relative residual reached (worst column).</summary>
    public double Residual { get; } = residual;
}
