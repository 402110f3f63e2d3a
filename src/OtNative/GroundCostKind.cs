namespace OtNative;

/// <summary>The family of a <see cref="GroundCost"/>.</summary>
public enum GroundCostKind
{
    /// <summary>c(x, y) = ‖x − y‖² (no ½): the streamed fast path.</summary>
    SquaredEuclidean,
    /// <summary>c(x, y) = (x − y)ᵀ M (x − y) for a symmetric positive semi-definite M.</summary>
    Mahalanobis,
}
