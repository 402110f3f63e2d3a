namespace OtNative;

/// <summary>
/// Raised when one problem of a batch fails: <see cref="ProblemIndex"/> says which (the first in input order when several
/// fail) and the inner exception why.
/// </summary>
/// <param name="problemIndex">The failed problem's position in the batch.</param>
/// <param name="inner">Why it failed.</param>
public class BatchProblemException(int problemIndex, Exception inner)
    : OtNativeException($"problem {problemIndex} of the batch failed: {inner.Message}", inner)
{
    /// <summary>The failed problem's position in the batch.</summary>
    public int ProblemIndex { get; } = problemIndex;
}
