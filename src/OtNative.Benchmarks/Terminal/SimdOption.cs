using OtNative.Core;

namespace OtNative.Terminal;

/// <summary>The <c>--simd 512,256</c> option of the CPU benchmarks: SIMD widths by name.</summary>
public static class SimdOption
{
    /// <summary>The widths of a comma-separated list (512, 256, 128, scalar); a bad entry is a usage error naming the choices.</summary>
    public static SimdWidth[] Widths(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => Simd.parse(v) is { IsOk: true } ok ? ok.ResultValue : throw new ArgumentException($"--simd: {Simd.parse(v).ErrorValue}"))
            .ToArray();
}
