using Microsoft.Extensions.Logging;
using OtNative.Core;

namespace OtNative;

/// <summary>What a solve tells <see cref="SinkhornOptions.Logger"/> about the fallbacks it takes.</summary>
internal static class Fallbacks
{
    /// <summary>Warns of a backend fallback (<paramref name="backendNote"/>) and of the managed dense linear algebra.</summary>
    public static void Log(ILogger? logger, IBackend backend, string? backendNote)
    {
        if (logger is null) return;
        if (backendNote is not null) logger.LogWarning("OtNative: {BackendNote}", backendNote);
        if (!backend.LinearAlgebra.Name.StartsWith("native", StringComparison.Ordinal))
            logger.LogWarning("OtNative: the dense linear algebra runs on the managed fallback ({Provider}; {Reason}): dense Hessians are 8–20× slower. Install liblapacke and libopenblas0-pthread.",
                backend.LinearAlgebra.Name, OtNativeEnvironment.Describe().NativeLinearAlgebraStatus);
    }
}
