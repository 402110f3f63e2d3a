using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>One problem's results from <see cref="EntropicOT.SolveBatch(IReadOnlyList{ValueTuple{double[,], double[,]}}, SinkhornOptions, bool, bool, IReadOnlyList{double[,]}, CgOptions, bool, CancellationToken)"/>.</summary>
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
/// <remarks>
/// It serialises with <see cref="System.Text.Json.JsonSerializer"/> and reads back with the same numbers: its
/// <c>double[,]</c> members through <see cref="Array2DJsonConverter"/>, non-finite numbers as named literals.
/// </remarks>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record BatchItem(int Index, double Value, double Epsilon, int Iterations, double MarginalError, bool Converged,
    [property: JsonConverter(typeof(Array2DJsonConverter))] double[,]? Gradient, [property: JsonConverter(typeof(Array2DJsonConverter))] double[,]? Hessian,
    [property: JsonConverter(typeof(Array2DJsonConverter))] double[,]? HessianVectorProduct, CgReport? HessianVectorProductCg)
{
    /// <summary>The iterations whose exponentials were float32 (<see cref="SinkhornPrecision.Mixed"/>); 0 for float64 sweeps.</summary>
    public int MixedIterations { get; init; }

    /// <summary>The source potential f (n).</summary>
    public IReadOnlyList<double> F { get; init; } = [];

    /// <summary>The target potential g (m).</summary>
    public IReadOnlyList<double> G { get; init; } = [];

    /// <summary>The time this problem's solve took (its own Sinkhorn loop; in a lockstep CUDA batch, the batch's loop).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The sharp distance ⟨P, C⟩ of the problem's plan, or null when it was not asked for (<c>sharpValues</c>).</summary>
    public double? SharpValue { get; init; }

    internal static BatchItem Of(int index, Core.BatchItem item, CoordinateMap map) => new(index, item.Solution.Value, item.Solution.Epsilon,
        item.Solution.Iterations, item.Solution.MarginalError, item.Solution.Converged,
        item.Gradient is null ? null : map.Gradient(item.Gradient.Value).ToArray2D(),
        item.Hessian is null ? null : map.Blocks(item.Hessian.Value).ToArray2D(),
        item.HessianVectorProduct is null ? null : map.Gradient(item.HessianVectorProduct.Value).ToArray2D(),
        item.HessianVectorProductCg is null ? null : CgReport.Of(item.HessianVectorProductCg.Value))
    {
        MixedIterations = item.Solution.MixedIterations,
        F = Array.AsReadOnly((double[])item.Solution.F.Clone()),
        G = Array.AsReadOnly((double[])item.Solution.G.Clone()),
        SharpValue = item.Sharp is null ? null : item.Sharp.Value,
        Elapsed = item.Solution.Elapsed,
    };
}
