using Microsoft.FSharp.Core;
using OtNative.Core;
using MathNetMatrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;
using MathNetVector = MathNet.Numerics.LinearAlgebra.Vector<double>;

namespace OtNative;

/// <summary>
/// Conversions between .NET inputs and outputs and the core's row-major <see cref="Matrix"/>: each input is copied once,
/// each output once (into a new <c>double[,]</c>, a new Math.NET matrix, or the caller's span).
/// </summary>
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

    /// <summary>Row-major values of exactly <paramref name="rows"/>×<paramref name="cols"/>.</summary>
    public static Matrix ToMatrix(ReadOnlySpan<double> values, int rows, int cols, string paramName)
    {
        RequireLength(values.Length, rows, cols, paramName);
        return new Matrix(rows, cols, values.ToArray());
    }

    public static Matrix ToMatrix(MathNetMatrix values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        return new Matrix(values.RowCount, values.ColumnCount, values.ToRowMajorArray());
    }

    /// <summary>The core matrix as a new Math.NET dense matrix.</summary>
    public static MathNetMatrix ToMathNet(Matrix values) => MathNetMatrix.Build.DenseOfRowMajor(values.Rows, values.Cols, values.Data);

    /// <summary>The core matrix's values, row-major, into <paramref name="destination"/> (whose length was checked).</summary>
    public static void CopyTo(Matrix values, Span<double> destination) => values.Data.AsSpan().CopyTo(destination);

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="paramName"/> unless a row-major span holds rows×cols values.</summary>
    public static void RequireLength(int length, int rows, int cols, string paramName)
    {
        if (length != rows * cols)
            throw new ArgumentException($"{paramName} has {length} values; it needs {rows}×{cols} = {rows * cols}, row-major.", paramName);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="paramName"/> unless the matrix is rows×cols.</summary>
    public static void RequireShape(int actualRows, int actualCols, int rows, int cols, string paramName)
    {
        if (actualRows != rows || actualCols != cols)
            throw new ArgumentException($"{paramName} is {actualRows}×{actualCols}; it needs {rows}×{cols}.", paramName);
    }

    public static FSharpOption<double[]>? Option(IReadOnlyList<double>? values) =>
        values is null ? null : FSharpOption<double[]>.Some(values.ToArray());

    public static FSharpOption<Matrix>? Option(double[,]? values, string paramName) =>
        values is null ? null : FSharpOption<Matrix>.Some(ToMatrix(values, paramName));

    /// <summary>Math.NET weights: null for uniform.</summary>
    public static FSharpOption<double[]>? Weights(MathNetVector? values) =>
        values is null ? null : FSharpOption<double[]>.Some(values.ToArray());

    /// <summary>Span weights: an empty span for uniform.</summary>
    public static FSharpOption<double[]>? Weights(ReadOnlySpan<double> values) =>
        values.IsEmpty ? null : FSharpOption<double[]>.Some(values.ToArray());
}
