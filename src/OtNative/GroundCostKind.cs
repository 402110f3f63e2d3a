namespace OtNative;

/// <summary>The family of a <see cref="GroundCost"/>.</summary>
public enum GroundCostKind
{
    /// <summary>c(x, y) = ‖x − y‖² (no ½): the streamed fast path.</summary>
    SquaredEuclidean,
    /// <summary>c(x, y) = (x − y)ᵀ M (x − y) for a symmetric positive semi-definite M.</summary>
    Mahalanobis,
    /// <summary>c(x, y) = ‖x − y‖.</summary>
    Euclidean,
    /// <summary>c(x, y) = ‖x − y‖ᵖ for p ≥ 1, p ∉ {1, 2}.</summary>
    PNorm,
    /// <summary>A user's <see cref="ICostFunction"/>.</summary>
    Custom,
}
