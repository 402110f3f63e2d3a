namespace OtNative;

/// <summary>Raised when a matrix that must be positive definite (a Newton system, a Cholesky solve) is not.</summary>
/// <param name="message">Which matrix, and what to change.</param>
public class NotPositiveDefiniteException(string message) : OtNativeException(message);
