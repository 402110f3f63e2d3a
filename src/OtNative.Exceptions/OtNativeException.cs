namespace OtNative;

/// <summary>
/// The base of every exception OtNative raises for a numerical reason (bad input raises the .NET argument exceptions,
/// cancellation <see cref="OperationCanceledException"/>, a request that cannot fit <see cref="InsufficientMemoryException"/>).
/// </summary>
public class OtNativeException : Exception
{
    /// <summary>An exception with a message.</summary>
    /// <param name="message">What happened and what to change.</param>
    public OtNativeException(string message) : base(message) { }

    /// <summary>An exception with a message and its cause.</summary>
    /// <param name="message">What happened and what to change.</param>
    /// <param name="inner">The cause.</param>
    public OtNativeException(string message, Exception? inner) : base(message, inner) { }
}
