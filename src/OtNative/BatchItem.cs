namespace OtNative;

/// <summary>One problem's results from <see cref="EntropicOT.SolveBatch"/>.</summary>
/// <param name="Index">The problem's position in the batch.</param>
/// <param name="Value">Entropic OT value L_ε (dual).</param>
/// <param name="Epsilon">The absolute ε used.</param>
/// <param name="Iterations">Sinkhorn iterations.</param>
/// <param name="MarginalError">‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the returned plan.</param>
/// <param name="Converged">Whether the tolerance was reached.</param>
/// <param name="Gradient">∂L_ε/∂x (n×d), or null when not requested.</param>
/// <param name="Hessian">The dense Hessian ((n·d)×(n·d)), or null when not requested.</param>
/// <param name="HessianVectorProduct">∇²L_ε · A_i (n×d), or null when no direction was given.</param>
/// <param name="HessianVectorProductCg">The CG report of that product, or null.</param>
public sealed record BatchItem(int Index, double Value, double Epsilon, int Iterations, double MarginalError, bool Converged,
    double[,]? Gradient, double[,]? Hessian, double[,]? HessianVectorProduct, CgReport? HessianVectorProductCg)
{
    /// <summary>The iterations whose exponentials were float32 (<see cref="SinkhornPrecision.Mixed"/>); 0 for float64 sweeps.</summary>
    public int MixedIterations { get; init; }

    /// <summary>The source potential f (n).</summary>
    public IReadOnlyList<double> F { get; init; } = [];

    /// <summary>The target potential g (m).</summary>
    public IReadOnlyList<double> G { get; init; } = [];

    /// <summary>The sharp distance ⟨P, C⟩ of the problem's plan, or null when it was not asked for (<c>sharpValues</c>).</summary>
    public double? SharpValue { get; init; }

    internal static BatchItem Of(int index, Core.BatchItem item) => new(index, item.Solution.Value, item.Solution.Epsilon,
        item.Solution.Iterations, item.Solution.MarginalError, item.Solution.Converged,
        item.Gradient?.Value.ToArray2D(), item.Hessian?.Value.ToArray2D(), item.HessianVectorProduct?.Value.ToArray2D(),
        item.HessianVectorProductCg is null ? null : CgReport.Of(item.HessianVectorProductCg.Value))
    {
        MixedIterations = item.Solution.MixedIterations,
        F = Array.AsReadOnly((double[])item.Solution.F.Clone()),
        G = Array.AsReadOnly((double[])item.Solution.G.Clone()),
        SharpValue = item.Sharp is null ? null : item.Sharp.Value,
    };
}

/// <summary>One problem of <see cref="EntropicOT.TrySolveBatch"/>: two point clouds (one point per row) and their weights.</summary>
/// <param name="X">Source points (n×d).</param>
/// <param name="Y">Target points (m×d).</param>
/// <param name="A">Source weights (n), or null for uniform.</param>
/// <param name="B">Target weights (m), or null for uniform.</param>
public sealed record BatchProblem(double[,] X, double[,] Y, double[]? A = null, double[]? B = null);

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
