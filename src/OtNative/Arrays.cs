using Microsoft.FSharp.Core;
using OtNative.Core;

namespace OtNative;

/// <summary>Conversions between .NET inputs and the core's row-major <see cref="Matrix"/>: each input is copied once.</summary>
internal static class Arrays
{
    public static Matrix ToMatrix(double[,] values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        return Matrix.OfArray2D(values);
    }

    /// <summary>Row-major values with <paramref name="dimension"/> columns.</summary>
    public static Matrix ToMatrix(ReadOnlySpan<double> values, int dimension, string paramName)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be at least 1.");
        if (values.Length % dimension != 0)
            throw new ArgumentException($"{paramName} has {values.Length} values, not a whole number of rows of dimension {dimension}.", paramName);
        return new Matrix(values.Length / dimension, dimension, values.ToArray());
    }

    public static Matrix ToMatrix(MathNet.Numerics.LinearAlgebra.Matrix<double> values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        return new Matrix(values.RowCount, values.ColumnCount, values.ToRowMajorArray());
    }

    public static FSharpOption<double[]>? Option(IReadOnlyList<double>? values) =>
        values is null ? null : FSharpOption<double[]>.Some(values.ToArray());

    public static FSharpOption<Matrix>? Option(double[,]? values, string paramName) =>
        values is null ? null : FSharpOption<Matrix>.Some(ToMatrix(values, paramName));
}
