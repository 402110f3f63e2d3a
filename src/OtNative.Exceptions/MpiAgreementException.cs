namespace OtNative;

/// <summary>
/// Raised on every rank of an MPI job whose ranks are not all ready for the same work (<c>MpiSession.Agree</c>): one
/// failed while reading its inputs or options (<see cref="Rank"/> is that rank), or their inputs or options differ
/// (<see cref="Rank"/> is the first that differs from rank 0).
/// </summary>
/// <param name="message">What differed or failed, and where.</param>
/// <param name="rank">The rank at fault.</param>
/// <param name="inputFault">Whether the input (a missing or unreadable file, different data or options), not a computation, is at fault.</param>
public class MpiAgreementException(string message, int rank, bool inputFault) : OtNativeException(message)
{
    /// <summary>The rank at fault.</summary>
    public int Rank { get; } = rank;

    /// <summary>Whether the input, not a computation, is at fault.</summary>
    public bool InputFault { get; } = inputFault;
}
