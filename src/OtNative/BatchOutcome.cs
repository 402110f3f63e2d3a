namespace OtNative;

/// <summary>One problem's outcome from <see cref="EntropicOT.TrySolveBatch"/>: its results, or why it failed.</summary>
/// <param name="Index">The problem's position in the batch.</param>
/// <param name="Item">The results, or null when it failed.</param>
/// <param name="Error">Why it failed (invalid input: an <see cref="ArgumentException"/> naming <c>problems[i]</c>; a numerical
/// failure; a CG solve above its tolerance), or null.</param>
public sealed record BatchOutcome(int Index, BatchItem? Item, Exception? Error)
{
    /// <summary>Whether the problem was solved (then <see cref="Item"/> is set).</summary>
    public bool Succeeded => Error is null;
}
