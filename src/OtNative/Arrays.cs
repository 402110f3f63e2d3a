using OtNative.Core;

namespace OtNative;

/// <summary>Conversions between .NET arrays and the core's row-major <see cref="Matrix"/>.</summary>
internal static class Arrays
{
    public static Matrix ToMatrix(double[,] values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        return Matrix.OfArray2D(values);
    }

    public static Microsoft.FSharp.Core.FSharpOption<double[]>? Option(double[]? values) =>
        values is null ? null : Microsoft.FSharp.Core.FSharpOption<double[]>.Some(values);
}
