using System.Text.Json.Serialization;

namespace OtNative;

/// <summary>One problem of <see cref="EntropicOT.TrySolveBatch"/>: two point clouds (one point per row) and their weights.</summary>
/// <param name="X">Source points (n×d).</param>
/// <param name="Y">Target points (m×d).</param>
/// <param name="A">Source weights (n), or null for uniform.</param>
/// <param name="B">Target weights (m), or null for uniform.</param>
/// <param name="Name">What an invalid input's error calls this problem (its arrays are <c>NAME.X</c>, <c>NAME.Y</c>, …), such
/// as the file it came from; null for its place in the batch, <c>problems[i]</c>.</param>
public sealed record BatchProblem([property: JsonConverter(typeof(Array2DJsonConverter))] double[,] X, [property: JsonConverter(typeof(Array2DJsonConverter))] double[,] Y, double[]? A = null, double[]? B = null, string? Name = null)
{
    /// <summary>A problem from clouds given as Math.NET matrices (one point per row) and Math.NET weights (copied).</summary>
    /// <param name="x">Source points (n×d).</param>
    /// <param name="y">Target points (m×d).</param>
    /// <param name="a">Source weights (n), or null for uniform.</param>
    /// <param name="b">Target weights (m), or null for uniform.</param>
    /// <param name="name">What an invalid input's error calls this problem, or null.</param>
    /// <returns>The problem.</returns>
    public static BatchProblem From(MathNet.Numerics.LinearAlgebra.Matrix<double> x, MathNet.Numerics.LinearAlgebra.Matrix<double> y,
        MathNet.Numerics.LinearAlgebra.Vector<double>? a = null, MathNet.Numerics.LinearAlgebra.Vector<double>? b = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        return new(x.ToArray(), y.ToArray(), a?.ToArray(), b?.ToArray(), name);
    }
}
