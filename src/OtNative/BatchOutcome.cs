using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>One problem's outcome from <see cref="EntropicOT.TrySolveBatch"/>: its results, or why it failed.</summary>
/// <param name="Index">The problem's position in the batch.</param>
/// <param name="Item">The results, or null when it failed.</param>
/// <param name="Error">Why it failed (invalid input: an <see cref="ArgumentException"/> naming <c>problems[i]</c>; a numerical
/// failure; a CG solve above its tolerance), or null. Not serialised: JSON carries <see cref="ErrorMessage"/> instead.</param>
/// <remarks>
/// It serialises with <see cref="System.Text.Json.JsonSerializer"/>: the item in full, a failure as its
/// <see cref="ErrorMessage"/> (an exception is not data). One read back from JSON has <see cref="Error"/> null and keeps
/// the message, so <see cref="Succeeded"/> still says whether the problem was solved.
/// </remarks>
public sealed record BatchOutcome(int Index, BatchItem? Item, [property: JsonIgnore] Exception? Error)
{
    private readonly string? _errorMessage;

    /// <summary>An outcome read back from JSON: its failure is a message only.</summary>
    [JsonConstructor]
    private BatchOutcome(int index, BatchItem? item, string? errorMessage) : this(index, item, (Exception?)null) => _errorMessage = errorMessage;

    /// <summary>Why it failed, as <see cref="Error"/>'s message (or the message read back from JSON), or null when it succeeded.</summary>
    public string? ErrorMessage => Error?.Message ?? _errorMessage;

    /// <summary>Whether the problem was solved (then <see cref="Item"/> is set).</summary>
    public bool Succeeded => Error is null && _errorMessage is null;
}
